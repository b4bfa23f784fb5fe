namespace EcpayEvents.Ecpay;

/// <summary>What a <see cref="PaymentResult"/> says: TradeStatus of a QueryTradeInfo answer, or RtnCode of a post (1 paid, else failed). Only <see cref="Paid"/> means money arrived.</summary>
public enum TradeStatus
{
    /// <summary>0: created, not paid (yet).</summary>
    Unpaid,
    /// <summary>1: paid.</summary>
    Paid,
    /// <summary>10200095: the customer never chose a payment method; the order failed.</summary>
    NeverChosePaymentMethod,
    /// <summary>10200047: ECPay does not know the order.</summary>
    NotFound,
    /// <summary>Any other TradeStatus: ask again later; never treat as paid.</summary>
    Unknown,
    /// <summary>A post's RtnCode other than 1: the payment failed.</summary>
    Failed,
}
