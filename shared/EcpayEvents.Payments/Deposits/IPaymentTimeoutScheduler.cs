using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Payments.Deposits;

/// <summary>
/// Starts the timer that reconciles a pending payment at its expiry (on AWS: a payment-timeout execution).
/// Idempotent per MerchantTradeNo; returns only once the timer exists, throws when it may not. A timer whose
/// deposit was rolled back is harmless: at expiry it finds no payment and ends <c>abandoned</c>.
/// </summary>
public interface IPaymentTimeoutScheduler
{
    Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct);
}
