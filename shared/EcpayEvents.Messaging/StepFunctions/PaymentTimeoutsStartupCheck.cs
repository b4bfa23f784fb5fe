using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Messaging.StepFunctions;

/// <summary>
/// Checks the <c>StepFunctions</c> settings when the host starts — after the service's own settings, so their
/// errors come first — and warns loudly when scheduling is disabled.
/// </summary>
public sealed partial class PaymentTimeoutsStartupCheck(IOptions<PaymentTimeoutsOptions> options, ILogger<PaymentTimeoutsStartupCheck> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value; // throws OptionsValidationException naming the setting
        if (settings.IsDisabled)
            LogDisabled(log);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "StepFunctions:Disabled=true: deposits get NO payment timeout and unpaid ones stay pending forever. Development and tests only; in production set StepFunctions:StateMachineArn.")]
    private static partial void LogDisabled(ILogger logger);
}
