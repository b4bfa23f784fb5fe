using EcpayEvents.Hosting;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Sandbox;

/// <summary>A local stand-in for ECPay stage (default port 5090). Development and tests only; never deployed.</summary>
public static class SandboxApp
{
    public const int DefaultPort = 5090;

    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = ServiceHost.CreateBuilder(args, "Sandbox", DefaultPort);
        builder.Services.Configure<SandboxOptions>(builder.Configuration.GetSection("Sandbox"));
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<SandboxOptions>>().Value);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SandboxOrders>();
        builder.Services.AddSingleton<Cashier>();
        builder.Services.AddHttpClient("notifications");
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapHealth();
        app.MapSandbox();
        return app;
    }
}
