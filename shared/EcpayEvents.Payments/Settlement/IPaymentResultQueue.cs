namespace EcpayEvents.Payments.Settlement;

/// <summary>The payment-results queue that feeds Settlement (on AWS: SQS, see EcpayEvents.Messaging).</summary>
public interface IPaymentResultQueue
{
    /// <summary>Returns the queue's message id once the queue has taken the message; throws when it has not.</summary>
    Task<string> PublishAsync(PaymentResultMessage message, CancellationToken ct = default);
}
