using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Notifications;

/// <summary>
/// ECPay's callbacks (ReturnURL, PaymentInfoURL): verify, enqueue, answer <c>1|OK</c>. Never touches
/// the database, so it runs outside the VPC and answers in milliseconds.
/// </summary>
public static class NotificationsApp
{
    public const int DefaultPort = 5081;

    /// <param name="configure">Last changes before the app is built (tests add a log capture).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ServiceHost.CreateBuilder(args, DefaultPort);
        builder.Services.AddOptions<NotificationsOptions>().Bind(builder.Configuration).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<NotificationsOptions>, NotificationsOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<NotificationsOptions>>().Value.Sqs.CreateClient());
        builder.Services.AddSingleton(sp => new PaymentResultPublisher(
            sp.GetRequiredService<Amazon.SQS.IAmazonSQS>(),
            sp.GetRequiredService<IOptions<NotificationsOptions>>().Value.Sqs.QueueUrl,
            sp.GetRequiredService<IOptions<NotificationsOptions>>().Value.Sqs.EnqueueBudget));

        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseServiceProblems(); // a request that breaks the framework is a 4xx, a fault a bare 500: never a stack trace
        app.MapHealth();
        app.MapNotificationsEndpoints();
        return app;
    }
}
