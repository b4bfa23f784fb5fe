using Microsoft.Extensions.Configuration;

namespace EcpayEvents.Messaging.StepFunctions;

/// <summary>
/// The <c>StepFunctions</c> section, validated at start (<see cref="PaymentTimeoutsOptionsValidator"/>):
/// either a state machine to schedule in, or the explicit, development-only <see cref="Disabled"/>.
/// </summary>
public sealed class PaymentTimeoutsOptions
{
    public const string Section = "StepFunctions";

    /// <summary><c>StepFunctions:StateMachineArn</c>: the payment-timeout state machine (on AWS the template's PaymentTimeoutStateMachine).</summary>
    public string? StateMachineArn { get; set; }

    /// <summary><c>StepFunctions:ServiceUrl</c>: endpoint override, e.g. the local server http://127.0.0.1:4584.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary><c>StepFunctions:Region</c>: default, the AWS SDK's region chain (AWS_REGION, profile).</summary>
    public string? Region { get; set; }

    /// <summary>
    /// <c>StepFunctions:Disabled</c> as configured ("true"/"false"). True: schedule nothing, only log (development and
    /// tests only — no deposit would ever expire). Never together with a state machine ARN.
    /// </summary>
    public string? Disabled { get; set; }

    public bool IsDisabled => bool.TryParse(Disabled, out var disabled) && disabled;

    public StepFunctionsClientOptions ClientOptions() => new()
    {
        ServiceUrl = string.IsNullOrWhiteSpace(ServiceUrl) ? null : new Uri(ServiceUrl, UriKind.Absolute),
        Region = string.IsNullOrWhiteSpace(Region) ? null : Region,
        StateMachineArn = StateMachineArn,
    };

    internal static PaymentTimeoutsOptions From(IConfiguration configuration) => new()
    {
        StateMachineArn = configuration[$"{Section}:StateMachineArn"],
        ServiceUrl = configuration[$"{Section}:ServiceUrl"],
        Region = configuration[$"{Section}:Region"],
        Disabled = configuration[$"{Section}:Disabled"],
    };
}
