using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Settlement;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace EcpayEvents.Settlement;

/// <summary>
/// The only writer of payment outcomes: consumes the payment-results queue (SQS event source mapping →
/// Lambda Web Adapter → POST /events) and settles each batch in one MySQL transaction (a savepoint per message).
/// </summary>
public static partial class SettlementApp
{
    public const int DefaultPort = 5082;

    /// <summary>The Service dimension of its metrics and its trace service name (EcpayEvents.Settlement).</summary>
    public const string ServiceName = "Settlement";

    /// <param name="configure">Tests only: last changes before the app is built (e.g. a log capture).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        ServiceHost.Build(args, ServiceName, DefaultPort, AddServices, app =>
        {
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                if (Options(app.Services).Settlement.AllowSimulatedPayments)
                    LogSimulatedPaymentsAllowed(app.Logger);
            });
            app.MapHealth();
            app.MapSettlementEndpoints();
        }, configure);

    private static void AddServices(WebApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, SqsEventJsonContext.Default));
        builder.Services.AddOptions<SettlementOptions>().Bind(builder.Configuration).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SettlementOptions>, SettlementOptionsValidator>();
        builder.Services.AddSingleton(sp =>
        {
            var o = Options(sp);
            // Connecting and every command well within the Lambda timeout, whatever the connection string says.
            var cs = new MySqlConnectionStringBuilder(o.Database.ConnectionString)
            {
                ConnectionTimeout = (uint)o.Settlement.ConnectTimeoutSeconds,
                DefaultCommandTimeout = (uint)o.Settlement.CommandTimeoutSeconds,
            };
            return new PaymentsDatabase(cs.ConnectionString);
        });
        builder.Services.AddSingleton(sp =>
        {
            var o = Options(sp);
            return new PaymentResultSettlement(sp.GetRequiredService<PaymentsDatabase>(), o.Ecpay.Credentials(),
                new SettlementPolicy(o.Ecpay.MerchantId, o.Settlement.AllowSimulatedPayments),
                TimeSpan.FromSeconds(o.Settlement.LockWaitTimeoutSeconds));
        });
        builder.Services.AddSingleton<SettlementBatchHandler>();
    }

    private static SettlementOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptions<SettlementOptions>>().Value;

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Settlement:AllowSimulatedPayments is on: SimulatePaid=1 results are CREDITED. Stage only, never in production.")]
    private static partial void LogSimulatedPaymentsAllowed(ILogger logger);
}
