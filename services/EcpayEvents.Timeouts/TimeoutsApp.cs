using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Settlement;
using EcpayEvents.Payments.Timeouts;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Timeouts;

/// <summary>
/// The payment-timeout state machine's Reconcile task, as an ASP.NET Core app behind Lambda Web Adapter
/// (task input POSTed to /events; on AWS set AWS_LWA_ERROR_STATUS_CODES so a 5xx fails the invocation).
/// </summary>
public static class TimeoutsApp
{
    public const int DefaultPort = 5083;

    /// <param name="configure">Tests only: last changes before the app is built (e.g. a log capture).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        ServiceHost.Build(args, DefaultPort, AddServices, app =>
        {
            app.MapHealth();
            app.MapTimeoutsEndpoints();
        }, configure);

    private static void AddServices(WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TimeoutsOptions>().Bind(builder.Configuration).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TimeoutsOptions>, TimeoutsOptionsValidator>();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, PaymentTimeoutJsonContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, TimeoutsJsonContext.Default);
        });
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new PaymentsDatabase(Options(sp).Database.ConnectionString));
        builder.Services.AddEcpayQueryTradeInfoClient(_ => { });
        builder.Services.AddOptions<QueryTradeInfoOptions>().Configure<IOptions<TimeoutsOptions>>((query, timeouts) =>
        {
            TimeoutsEcpayOptions ecpay;
            try { ecpay = timeouts.Value.Ecpay; }
            catch (OptionsValidationException)
            {
                // Invalid settings already fail the start through TimeoutsOptions, each key named once. The client's
                // options and its resilience handler are validated at start too: without this they would repeat it all.
                query.Credentials = new EcpayCredentials("", "", "");
                return;
            }
            query.Endpoints = ecpay.Endpoints();
            query.Credentials = ecpay.Credentials();
            query.MaxRetries = ecpay.Query.MaxRetries;
            query.AttemptTimeout = TimeSpan.FromSeconds(ecpay.Query.AttemptTimeoutSeconds);
            query.TotalTimeout = TimeSpan.FromSeconds(ecpay.Query.TotalTimeoutSeconds);
            query.ThrottleCoolDown = TimeSpan.FromMinutes(ecpay.Query.ThrottleCoolDownMinutes);
        });
        builder.Services.AddSingleton<QueryTradeInfo>(sp => (merchantTradeNo, ct) =>
            sp.GetRequiredService<QueryTradeInfoClient>().QueryAsync(merchantTradeNo, ct));
        builder.Services.AddSingleton<IPaymentResultQueue>(sp => new PaymentResultPublisher(Options(sp).Sqs.CreateClient(), Options(sp).Sqs.QueueUrl));
        builder.Services.AddSingleton(sp => Options(sp).Reconcile.Confirmation());
        builder.Services.AddSingleton<ReconcilePayment>();
    }

    private static TimeoutsOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptions<TimeoutsOptions>>().Value;
}
