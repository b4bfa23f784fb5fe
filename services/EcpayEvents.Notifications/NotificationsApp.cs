using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Notifications;

/// <summary>ECPay's callbacks (ReturnURL, PaymentInfoURL): verify, enqueue, answer <c>1|OK</c>. Never touches the database.</summary>
public static class NotificationsApp
{
    public const int DefaultPort = 5081;

    /// <param name="configure">Tests only: last changes before the app is built (e.g. a log capture).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        ServiceHost.Build(args, DefaultPort, AddServices, app =>
        {
            app.MapHealth();
            app.MapNotificationsEndpoints();
        }, configure);

    private static void AddServices(WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<NotificationsOptions>().Bind(builder.Configuration).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<NotificationsOptions>, NotificationsOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => Options(sp).Sqs.CreateClient());
        builder.Services.AddSingleton(sp => new PaymentResultPublisher(
            sp.GetRequiredService<Amazon.SQS.IAmazonSQS>(), Options(sp).Sqs.QueueUrl, Options(sp).Sqs.EnqueueBudget));
    }

    private static NotificationsOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptions<NotificationsOptions>>().Value;
}
