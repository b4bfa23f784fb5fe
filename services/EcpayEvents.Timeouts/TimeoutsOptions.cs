using System.ComponentModel.DataAnnotations;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Timeouts;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Timeouts;

/// <summary>
/// Configuration of the Timeouts service, bound from the root and validated at start:
/// <c>Database:*</c>, <c>Ecpay:*</c> (with the optional <c>Ecpay:Query:*</c>) and <c>Sqs:*</c> — the same keys as Notifications.
/// </summary>
public sealed class TimeoutsOptions
{
    [Required, ValidateObjectMembers]
    public DatabaseOptions Database { get; set; } = new();

    [Required, ValidateObjectMembers]
    public TimeoutsEcpayOptions Ecpay { get; set; } = new();

    [Required, ValidateObjectMembers]
    public SqsOptions Sqs { get; set; } = new();

    [Required, ValidateObjectMembers]
    public ReconcileOptions Reconcile { get; set; } = new();
}

/// <summary>
/// <c>Reconcile:*</c>: when a completed deposit's credit is confirmed with QueryTradeInfo. ECPay advises asking
/// 10 minutes after a payment and, when the bank had not answered (TradeStatus 0), again later; 40 minutes
/// after the payment avoids asking twice.
/// </summary>
public sealed class ReconcileOptions : IValidatableObject
{
    public int ConfirmCreditAfterSeconds { get; set; } = (int)CreditConfirmation.DefaultFirstLook.TotalSeconds;
    public int ConfirmUnpaidAgainAfterSeconds { get; set; } = (int)CreditConfirmation.DefaultUnpaidLookAgain.TotalSeconds;

    /// <summary>How long past its deadline a deposit with a payment under way waits for ECPay's late report (see <see cref="Payments.Timeouts.ReportingLag"/>).</summary>
    public TimeSpan ReportingLagAtm { get; set; } = Payments.Timeouts.ReportingLag.Default.Atm;
    public TimeSpan ReportingLagCvs { get; set; } = Payments.Timeouts.ReportingLag.Default.Cvs;
    public TimeSpan ReportingLagBarcode { get; set; } = Payments.Timeouts.ReportingLag.Default.Barcode;
    public TimeSpan ReportingLagBnpl { get; set; } = Payments.Timeouts.ReportingLag.Default.Bnpl;

    public ReportingLag ReportingLag() => new(ReportingLagAtm, ReportingLagCvs, ReportingLagBarcode, ReportingLagBnpl);

    public CreditConfirmation Confirmation() =>
        new(true, TimeSpan.FromSeconds(ConfirmCreditAfterSeconds), TimeSpan.FromSeconds(ConfirmUnpaidAgainAfterSeconds));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ConfirmCreditAfterSeconds < 0) yield return new ValidationResult("Reconcile:ConfirmCreditAfterSeconds must be a whole number ≥ 0.");
        if (ConfirmUnpaidAgainAfterSeconds < ConfirmCreditAfterSeconds)
            yield return new ValidationResult("Reconcile:ConfirmUnpaidAgainAfterSeconds must be at least Reconcile:ConfirmCreditAfterSeconds.");
        foreach (var (key, lag) in new[] { ("Atm", ReportingLagAtm), ("Cvs", ReportingLagCvs), ("Barcode", ReportingLagBarcode), ("Bnpl", ReportingLagBnpl) })
            if (lag < TimeSpan.Zero || lag > TimeSpan.FromDays(30))
                yield return new ValidationResult($"Reconcile:ReportingLag{key} must be between 0 and 30 days.");
    }
}

/// <summary>The shared <c>Ecpay</c> section plus how Timeouts asks QueryTradeInfo.</summary>
public sealed class TimeoutsEcpayOptions : EcpayOptions
{
    [Required, ValidateObjectMembers]
    public EcpayQueryOptions Query { get; set; } = new();
}

/// <summary><c>Ecpay:Query:*</c>: retries and timeouts of one QueryTradeInfo call.</summary>
public sealed class EcpayQueryOptions : IValidatableObject
{
    public int MaxRetries { get; set; } = 2;
    public int AttemptTimeoutSeconds { get; set; } = 5;
    public int TotalTimeoutSeconds { get; set; } = 20;
    /// <summary>After an HTTP 403 ("too frequent"), stop asking ECPay for this long (ECPay blocks for about 30 minutes); 0 turns it off.</summary>
    public int ThrottleCoolDownMinutes { get; set; } = 30;

    // Checked here rather than with [Range]: the options source generator replaces a Range's ErrorMessage with its own, which does not name the key.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // 0 = one attempt per Reconcile (the state machine's own Retry still applies).
        if (MaxRetries < 0) yield return new ValidationResult("Ecpay:Query:MaxRetries must be a whole number ≥ 0.");
        if (AttemptTimeoutSeconds < 1) yield return new ValidationResult("Ecpay:Query:AttemptTimeoutSeconds must be a whole number ≥ 1.");
        if (TotalTimeoutSeconds < 1) yield return new ValidationResult("Ecpay:Query:TotalTimeoutSeconds must be a whole number ≥ 1.");
        else if (TotalTimeoutSeconds < AttemptTimeoutSeconds)
            yield return new ValidationResult("Ecpay:Query:TotalTimeoutSeconds must be at least AttemptTimeoutSeconds.");
        if (ThrottleCoolDownMinutes is < 0 or > 1440) yield return new ValidationResult("Ecpay:Query:ThrottleCoolDownMinutes must be a whole number from 0 to 1440.");
    }
}

[OptionsValidator]
public sealed partial class TimeoutsOptionsValidator : IValidateOptions<TimeoutsOptions>;
