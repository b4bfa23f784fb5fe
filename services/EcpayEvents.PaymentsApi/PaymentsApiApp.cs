using System.Text.Json.Serialization;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Payments.Transactions;
using EcpayEvents.Payments.Users;
using EcpayEvents.Payments.Withdrawals;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EcpayEvents.PaymentsApi;

/// <summary>Users, deposits, withdrawals, status polling and the browser pages (default port 5080).</summary>
public static class PaymentsApiApp
{
    public const int DefaultPort = 5080;

    /// <param name="configure">Tests only: last changes before the app is built (e.g. a test <see cref="IPaymentTimeoutScheduler"/>).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        ServiceHost.Build(args, DefaultPort, AddServices, UsePipeline, configure);

    private static void AddServices(WebApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddOptions<PaymentsApiSettings>().Bind(builder.Configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PaymentsApiSettings>, PaymentsApiSettingsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<PaymentsApiSettings>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<PaymentsApiSettings>().PaymentsApi.Deposit);
        services.AddSingleton(sp => sp.GetRequiredService<PaymentsApiSettings>().PaymentsApi.Withdrawal);
        services.AddSingleton(sp => new PaymentsDatabase(sp.GetRequiredService<PaymentsApiSettings>().Database.ConnectionString));
        services.TryAddSingleton(TimeProvider.System);
        // Step Functions when StepFunctions:StateMachineArn is set; otherwise the logging scheduler (dev only).
        services.AddPaymentTimeouts(builder.Configuration);
        services.AddSingleton<SignedLinks>();
        services.AddCognitoAuthentication();
        services.AddSingleton<CreateUser>();
        services.AddSingleton<GetUser>();
        services.AddSingleton<ListUsers>();
        services.AddSingleton<GetTransaction>();
        services.AddSingleton<ListUserTransactions>();
        services.AddSingleton<RequestDeposit>();
        services.AddSingleton<StartCheckout>();
        services.AddSingleton<Withdraw>();

        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, PaymentsApiJsonContext.Default);
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict; // "100" (a string) is not an amount
            // {"amount":1,"amount":500}: which one counts would be the parser's choice, not the client's.
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        // Binding failures (malformed JSON, a string where a number belongs) throw, so the handler below
        // can answer a problem that names the field instead of an empty 400.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<BadRequestProblems>();
        services.AddHttpSurface(builder.Configuration);
    }

    private static void UsePipeline(WebApplication app)
    {
        // Empty 4xx answers from the framework itself (no endpoint wrote a body) become problems that
        // say what to do: 415 (a body that is not JSON — binding does not throw for it), 405, 404.
        app.UseStatusCodePages(StatusCodeProblems.WriteAsync);
        app.UseRequestBodyLimits();
        app.UseHttpSurface(); // security headers, CORS, /openapi/v1.json: before authentication
        // Deny by default: every endpoint needs a signed-in user unless it says AllowAnonymous.
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseApiRateLimits(); // after authentication: limits per token sub
        app.MapHealth().AllowAnonymous();
        app.MapPaymentsApi();
    }
}
