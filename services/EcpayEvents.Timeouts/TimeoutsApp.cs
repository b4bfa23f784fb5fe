using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Timeouts;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EcpayEvents.Timeouts;

/// <summary>
/// The payment-timeout state machine's Reconcile task, as an ASP.NET Core app behind Lambda Web Adapter
/// (task input POSTed to /events; on AWS set AWS_LWA_ERROR_STATUS_CODES so a 5xx fails the invocation).
/// </summary>
public static class TimeoutsApp
{
    public const int DefaultPort = 5083;

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceHost.CreateBuilder(args, DefaultPort);
        var settings = TimeoutsSettings.From(builder.Configuration);

        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, PaymentTimeoutJsonContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, TimeoutsJsonContext.Default);
        });
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(_ => new PaymentsDatabase(settings.ConnectionString));
        builder.Services.AddEcpayQueryTradeInfoClient(o =>
        {
            o.Endpoints = settings.Endpoints;
            o.Credentials = settings.Credentials;
            o.MaxRetries = settings.QueryMaxRetries;
            o.AttemptTimeout = settings.QueryAttemptTimeout;
            o.TotalTimeout = settings.QueryTotalTimeout;
        });
        builder.Services.AddSingleton<QueryTradeInfo>(sp => (merchantTradeNo, ct) =>
            sp.GetRequiredService<QueryTradeInfoClient>().QueryAsync(merchantTradeNo, ct));
        builder.Services.AddSingleton(_ => new PaymentResultPublisher(settings.Sqs.CreateClient(), settings.Sqs.QueueUrl));
        builder.Services.AddSingleton<ReconcilePayment>();

        var app = builder.Build();
        app.MapHealth();
        app.MapTimeoutsEndpoints();
        return app;
    }
}

/// <summary>
/// Configuration (read and checked at start; a missing setting fails with its name):
/// <c>Database:ConnectionString</c>; <c>Ecpay:MerchantId</c>, <c>Ecpay:HashKey</c>, <c>Ecpay:HashIv</c>, and
/// <c>Ecpay:BaseUrl</c> (the sandbox; wins) or <c>Ecpay:Environment</c> (stage, the default, or production; any case);
/// optional <c>Ecpay:Query:MaxRetries</c>/<c>AttemptTimeoutSeconds</c>/<c>TotalTimeoutSeconds</c>;
/// <c>Sqs:QueueUrl</c>, <c>Sqs:ServiceUrl</c> (local only), <c>Sqs:Region</c> — the same keys as Notifications.
/// </summary>
public sealed record TimeoutsSettings(
    string ConnectionString,
    EcpayEndpoints Endpoints,
    EcpayCredentials Credentials,
    int QueryMaxRetries,
    TimeSpan QueryAttemptTimeout,
    TimeSpan QueryTotalTimeout,
    SqsOptions Sqs)
{
    public static TimeoutsSettings From(IConfiguration configuration)
    {
        var problems = new List<string>();
        string Required(string key)
        {
            var value = configuration[key];
            if (string.IsNullOrWhiteSpace(value)) problems.Add($"{key} is required");
            return value ?? "";
        }
        int Number(string key, int fallback, int min)
        {
            var text = configuration[key];
            if (string.IsNullOrWhiteSpace(text)) return fallback;
            if (int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min) return n;
            problems.Add($"{key} must be a whole number ≥ {min}");
            return fallback;
        }

        var connectionString = Required("Database:ConnectionString");
        var credentials = new EcpayCredentials(Required("Ecpay:MerchantId"), Required("Ecpay:HashKey"), Required("Ecpay:HashIv"));
        var endpoints = EcpayEndpoints.Stage;
        var baseUrl = configuration["Ecpay:BaseUrl"];
        if (!string.IsNullOrWhiteSpace(baseUrl))
        {
            try { endpoints = EcpayEndpoints.FromBaseUrl(baseUrl); }
            catch (ArgumentException e) { problems.Add($"Ecpay:BaseUrl: {e.Message}"); }
        }
        else
        {
            switch (configuration["Ecpay:Environment"]?.Trim().ToLowerInvariant())
            {
                case null or "" or "stage": break;
                case "production": endpoints = EcpayEndpoints.Production; break;
                case "sandbox": problems.Add("Ecpay:BaseUrl is required with Ecpay:Environment sandbox"); break;
                case var other: problems.Add($"Ecpay:Environment must be stage, production or sandbox, not '{other}'"); break;
            }
        }
        var sqs = new SqsOptions
        {
            QueueUrl = Required("Sqs:QueueUrl"),
            ServiceUrl = configuration["Sqs:ServiceUrl"],
            Region = configuration["Sqs:Region"] is { Length: > 0 } region ? region : "us-east-1",
        };
        // At least 1: the standard resilience handler rejects 0 retries (QueryTradeInfoOptions allows it, but AddEcpayQueryTradeInfoClient then fails at start).
        var maxRetries = Number("Ecpay:Query:MaxRetries", 2, 1);
        var attempt = TimeSpan.FromSeconds(Number("Ecpay:Query:AttemptTimeoutSeconds", 5, 1));
        var total = TimeSpan.FromSeconds(Number("Ecpay:Query:TotalTimeoutSeconds", 20, 1));
        if (total < attempt) problems.Add("Ecpay:Query:TotalTimeoutSeconds must be at least AttemptTimeoutSeconds");

        if (problems.Count > 0)
            throw new InvalidOperationException("Timeouts configuration: " + string.Join("; ", problems));
        return new TimeoutsSettings(connectionString, endpoints, credentials, maxRetries, attempt, total, sqs);
    }

    // Never print the HashKey/HashIV or the connection string's password.
    public override string ToString() => $"TimeoutsSettings {{ Ecpay = {Endpoints}, MerchantId = {Credentials.MerchantId}, Sqs = {Sqs.QueueUrl} }}";
}
