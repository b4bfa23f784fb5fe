using System.Text;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Notifications;

public static partial class NotificationsEndpoints
{
    /// <summary>ECPay's posts are a few hundred bytes; anything near this is not ECPay.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>The only answer that stops ECPay re-sending (exactly this: no newline).</summary>
    public const string Acknowledged = "1|OK";

    public static IEndpointRouteBuilder MapNotificationsEndpoints(this IEndpointRouteBuilder app)
    {
        var ecpay = app.MapGroup("/ecpay");
        ecpay.MapPost("/return", ReceiveReturnUrl);
        ecpay.MapPost("/payment-info", ReceivePaymentInfoUrl);
        return app;
    }

    public static Task<ContentHttpResult> ReceiveReturnUrl(HttpRequest request, IOptions<NotificationsOptions> options, PaymentResultPublisher publisher, TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
        => ReceiveAsync(PaymentResultSource.ReturnUrl, EcpayPostKind.ReturnUrl, request, options.Value, publisher, time, loggers.CreateLogger(typeof(NotificationsEndpoints)), ct);

    public static Task<ContentHttpResult> ReceivePaymentInfoUrl(HttpRequest request, IOptions<NotificationsOptions> options, PaymentResultPublisher publisher, TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
        => ReceiveAsync(PaymentResultSource.PaymentInfoUrl, EcpayPostKind.PaymentInfoUrl, request, options.Value, publisher, time, loggers.CreateLogger(typeof(NotificationsEndpoints)), ct);

    private static async Task<ContentHttpResult> ReceiveAsync(string source, EcpayPostKind kind, HttpRequest request, NotificationsOptions options, PaymentResultPublisher publisher, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        var receivedAt = time.GetUtcNow();
        var remote = request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "";
        var client = ClientIp(request);

        var (body, tooLarge) = await StrictUtf8Body.ReadAsync(request, MaxBodyBytes, ct);
        if (tooLarge)
        {
            LogRejected(logger, source, "body too large", "", client, remote);
            return Answer(StatusCodes.Status413PayloadTooLarge, "0|body too large");
        }
        if (body is null)
        {
            LogRejected(logger, source, "body is not UTF-8", "", client, remote);
            return Answer(StatusCodes.Status400BadRequest, "0|malformed body");
        }
        if (!EcpayForm.TryParse(body, out var form, out var formError))
        {
            LogRejected(logger, source, $"malformed form: {formError}", "", client, remote);
            return Answer(StatusCodes.Status400BadRequest, "0|malformed body");
        }

        var merchantTradeNo = form["MerchantTradeNo"] ?? "";
        if (merchantTradeNo.Length is 0 or > 64)
        {
            LogRejected(logger, source, "MerchantTradeNo missing or too long", "", client, remote);
            return Answer(StatusCodes.Status400BadRequest, "0|malformed body");
        }
        // Only the fields ECPay sends to this URL, in their formats, whatever the MAC says: a string the server
        // signed for something else (a checkout form, a query) must never pass as a post. A genuine post refused
        // by mistake is not lost: the payment's timeout asks ECPay.
        if (EcpayPostFields.Problem(kind, form) is { } fieldProblem)
        {
            LogRejected(logger, source, $"not a {source} post as ECPay sends it: {fieldProblem}", merchantTradeNo, client, remote);
            return Answer(StatusCodes.Status400BadRequest, "0|unexpected fields");
        }
        if (!string.Equals(form["MerchantID"], options.Ecpay.MerchantId, StringComparison.Ordinal))
        {
            LogRejected(logger, source, "MerchantID is not ours", merchantTradeNo, client, remote);
            return Answer(StatusCodes.Status400BadRequest, "0|MerchantID mismatch");
        }
        if (!CheckMacValue.Verify(form, options.Ecpay.HashKey, options.Ecpay.HashIv))
        {
            LogRejected(logger, source, "CheckMacValue does not verify", merchantTradeNo, client, remote);
            return Answer(StatusCodes.Status400BadRequest, "0|CheckMacValue error");
        }

        // The raw strings as posted, CheckMacValue included, so Settlement can verify them again.
        var fields = new Dictionary<string, string>(form.Count, StringComparer.Ordinal);
        foreach (var (key, value) in form) fields[key] = value;
        try
        {
            var messageId = await publisher.PublishAsync(new PaymentResultMessage(source, fields, receivedAt), ct);
            LogEnqueued(logger, source, merchantTradeNo, form["RtnCode"] ?? "", messageId);
            return Answer(StatusCodes.Status200OK, Acknowledged);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Not acknowledged: ECPay re-sends later, so nothing is lost.
            LogEnqueueFailed(logger, source, merchantTradeNo, e.GetType().Name, e.Message);
            return Answer(StatusCodes.Status503ServiceUnavailable, "0|retry later");
        }
    }

    /// <summary>
    /// The client's address for the security log. On Lambda (behind API Gateway and the Web Adapter) the
    /// connection comes from loopback, so the address is taken from X-Forwarded-For — its LAST entry: API
    /// Gateway appends the address that connected to it, while every earlier entry is whatever the
    /// client chose to send (trivially forged). If a CDN/proxy is ever put in front of API Gateway, the
    /// last entry becomes that proxy's address; then the entry before it would be the one to log.
    /// Without the header (locally, in tests) it is the connection's remote address.
    /// </summary>
    public static string ClientIp(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var forwarded = request.Headers["X-Forwarded-For"];
        for (var i = forwarded.Count - 1; i >= 0; i--)
        {
            var header = forwarded[i];
            if (string.IsNullOrWhiteSpace(header)) continue;
            var last = header[(header.LastIndexOf(',') + 1)..].Trim();
            if (last.Length > 0) return last.Length <= 64 ? last : last[..64];
        }
        return request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "";
    }

    private static ContentHttpResult Answer(int status, string text) => TypedResults.Text(text, "text/plain", statusCode: status);

    /// <summary>The structured security log line's event id (a rejected post: bad MAC, another merchant, fields ECPay does not send, malformed).</summary>
    public const int SecurityRejectedEventId = 4001;

    [LoggerMessage(EventId = SecurityRejectedEventId, Level = LogLevel.Warning, Message = "Security: rejected ECPay {Source} post: {Reason} (MerchantTradeNo={MerchantTradeNo}, ClientIp={ClientIp}, RemoteIp={RemoteIp})")]
    private static partial void LogRejected(ILogger logger, string source, string reason, string merchantTradeNo, string clientIp, string remoteIp);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Enqueued ECPay {Source} for MerchantTradeNo={MerchantTradeNo} RtnCode={RtnCode} as message {MessageId}")]
    private static partial void LogEnqueued(ILogger logger, string source, string merchantTradeNo, string rtnCode, string messageId);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Could not enqueue ECPay {Source} for MerchantTradeNo={MerchantTradeNo}: {ErrorType} {Error}; answered 503 so ECPay re-sends")]
    private static partial void LogEnqueueFailed(ILogger logger, string source, string merchantTradeNo, string errorType, string error);
}
