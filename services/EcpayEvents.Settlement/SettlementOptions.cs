using System.ComponentModel.DataAnnotations;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Settlement;

/// <summary>Configuration of the Settlement service, bound from the root (<c>Ecpay:*</c>, <c>Database:*</c>, <c>Settlement:*</c>) and validated at start.</summary>
public sealed class SettlementOptions : IValidatableObject
{
    [Required, ValidateObjectMembers]
    public EcpayOptions Ecpay { get; set; } = new();

    [Required, ValidateObjectMembers]
    public DatabaseOptions Database { get; set; } = new();

    [Required, ValidateObjectMembers]
    public SettlementRulesOptions Settlement { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // A simulated payment moves no money: crediting it in production would let anyone with ECPay back-office access mint balances.
        if (Settlement.AllowSimulatedPayments && Ecpay.IsProduction)
            yield return new ValidationResult("Settlement:AllowSimulatedPayments must be false with Ecpay:Environment=production.", [nameof(Settlement)]);
    }
}

public sealed class SettlementRulesOptions
{
    /// <summary>Stage only: credit SimulatePaid=1 results (ECPay back-office simulations). Never in production.</summary>
    public bool AllowSimulatedPayments { get; set; }

    /// <summary>
    /// <c>innodb_lock_wait_timeout</c> (seconds) of each settlement transaction. The server default (50 s on
    /// RDS) is longer than the Lambda timeout (15 s): one stuck row lock would time the whole batch out.
    /// A message that waits longer fails alone (a batch item failure) and is redelivered. 0 leaves the
    /// server's value (set it then in the DB parameter group or the RDS Proxy's init query: a SET on the
    /// session pins the RDS Proxy connection).
    /// </summary>
    [Range(0, 60)]
    public int LockWaitTimeoutSeconds { get; set; } = 3;

    /// <summary>Timeout (seconds) of each SQL command, well below the Lambda timeout; overrides the connection string's.</summary>
    [Range(1, 300)]
    public int CommandTimeoutSeconds { get; set; } = 8;

    /// <summary>
    /// Timeout (seconds) of opening a connection (TCP and the MySQL handshake); overrides the connection
    /// string's (MySqlConnector's default, 15 s, is the whole Lambda timeout). A database that does not
    /// answer fails each message as a batch item failure instead of timing the whole invocation out.
    /// </summary>
    [Range(1, 60)]
    public int ConnectTimeoutSeconds { get; set; } = 3;
}

[OptionsValidator]
public sealed partial class SettlementOptionsValidator : IValidateOptions<SettlementOptions>;
