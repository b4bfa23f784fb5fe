namespace EcpayEvents.Payments.Settlement;

/// <summary>What settling a result does to the transaction.</summary>
public enum SettlementAction
{
    /// <summary>Record the event only.</summary>
    None,
    /// <summary>Mark completed, store ECPay's trade number/payment type/date, one ledger entry (+amount), balance += amount.</summary>
    Complete,
    /// <summary>Mark failed (only from pending), store RtnCode/RtnMsg.</summary>
    Fail,
    /// <summary>Store the issued ATM/CVS/BARCODE number and its ExpireDate; stays pending.</summary>
    RecordPaymentNumber,
}
