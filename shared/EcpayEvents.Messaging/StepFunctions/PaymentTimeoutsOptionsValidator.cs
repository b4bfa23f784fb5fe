using Microsoft.Extensions.Options;

namespace EcpayEvents.Messaging.StepFunctions;

/// <summary>A pending payment without a timer stays pending forever, so a missing state machine stops the service at start.</summary>
public sealed class PaymentTimeoutsOptionsValidator : IValidateOptions<PaymentTimeoutsOptions>
{
    public ValidateOptionsResult Validate(string? name, PaymentTimeoutsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        var hasArn = !string.IsNullOrWhiteSpace(options.StateMachineArn);
        bool disabled = false;
        if (!string.IsNullOrWhiteSpace(options.Disabled) && !bool.TryParse(options.Disabled, out disabled))
            problems.Add($"StepFunctions:Disabled must be true or false, not '{options.Disabled}'.");
        if (disabled && hasArn)
            problems.Add("StepFunctions:Disabled=true and StepFunctions:StateMachineArn are both set: remove one (Disabled is for development and tests only).");
        else if (!disabled && !hasArn)
            problems.Add("StepFunctions:StateMachineArn is required: every deposit starts its payment-timeout execution there, and without it no pending payment would ever expire. "
                + "Set it (env StepFunctions__StateMachineArn), or StepFunctions:Disabled=true in development and tests only.");
        if (hasArn && !IsStateMachineArn(options.StateMachineArn!))
            problems.Add($"StepFunctions:StateMachineArn '{options.StateMachineArn}' is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME).");
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl)
            && !(Uri.TryCreate(options.ServiceUrl, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)))
            problems.Add($"StepFunctions:ServiceUrl '{options.ServiceUrl}' is not an absolute http(s) URL.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static bool IsStateMachineArn(string arn)
    {
        var parts = arn.Split(':');
        return parts.Length == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "stateMachine" && parts[6].Length > 0;
    }
}
