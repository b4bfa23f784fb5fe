using Microsoft.Extensions.Options;

namespace EcpayEvents.Sandbox;

/// <summary>A local stand-in for ECPay stage (default port 5090). Development and tests only; never deployed.</summary>
public static class SandboxApp
{
    public const int DefaultPort = 5090;

    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
            builder.WebHost.UseUrls($"http://127.0.0.1:{(int.TryParse(Environment.GetEnvironmentVariable("PORT"), out var port) ? port : DefaultPort)}");
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.Configure<SandboxOptions>(builder.Configuration.GetSection("Sandbox"));
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<SandboxOptions>>().Value);
        builder.Services.AddSingleton(sp => sp.GetRequiredService<SandboxOptions>().Behaviour);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SandboxOrders>();
        builder.Services.AddSingleton<QueryGate>();
        builder.Services.AddSingleton<Cashier>();
        builder.Services.AddHttpClient("notifications");
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapGet("/healthz", () => TypedResults.Text("ok"));
        app.MapSandbox();
        return app;
    }
}
