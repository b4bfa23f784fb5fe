using EcpayEvents.Payments.Deposits;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Messaging.StepFunctions;

public static class PaymentTimeoutsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="IPaymentTimeoutScheduler"/>: Step Functions executions of <c>StepFunctions:StateMachineArn</c>,
    /// or with <c>StepFunctions:Disabled=true</c> (development only) the logging one. Replaces any scheduler registered before.
    /// </summary>
    public static IServiceCollection AddPaymentTimeouts(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = PaymentTimeoutsOptions.From(configuration);
        services.AddOptions<PaymentTimeoutsOptions>().Configure(o =>
        {
            o.StateMachineArn = configured.StateMachineArn;
            o.ServiceUrl = configured.ServiceUrl;
            o.Region = configured.Region;
            o.Disabled = configured.Disabled;
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PaymentTimeoutsOptions>, PaymentTimeoutsOptionsValidator>());
        services.AddHostedService<PaymentTimeoutsStartupCheck>();

        // One client per process; pooled connections are recycled so DNS changes are seen.
        services.TryAddSingleton(sp => new StepFunctionsClient(
            new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(3) },
            sp.GetRequiredService<IOptions<PaymentTimeoutsOptions>>().Value.ClientOptions()));
        services.Replace(ServiceDescriptor.Singleton<IPaymentTimeoutScheduler>(sp =>
            sp.GetRequiredService<IOptions<PaymentTimeoutsOptions>>().Value.IsDisabled
                ? new LoggingPaymentTimeoutScheduler(sp.GetRequiredService<ILogger<LoggingPaymentTimeoutScheduler>>())
                : new StepFunctionsTimeoutScheduler(sp.GetRequiredService<StepFunctionsClient>(), sp.GetRequiredService<ILogger<StepFunctionsTimeoutScheduler>>())));
        return services;
    }
}
