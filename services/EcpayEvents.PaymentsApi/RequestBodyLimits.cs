using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using EcpayEvents.Hosting;
using Microsoft.AspNetCore.WebUtilities;

namespace EcpayEvents.PaymentsApi;

/// <summary>A route's largest request body, in bytes (<c>.WithMetadata(new BodyLimit(n))</c>).</summary>
internal sealed record BodyLimit(long Bytes) : IRequestSizeLimitMetadata
{
    /// <summary>Every JSON body here is a few hundred bytes (a username and an e-mail address at most).</summary>
    public static readonly BodyLimit Json = new(8 * 1024);

    /// <summary>ECPay's OrderResultURL post is about 1 KB; the same bound as Notifications'.</summary>
    public static readonly BodyLimit EcpayForm = new(16 * 1024);

    long? IRequestSizeLimitMetadata.MaxRequestBodySize => Bytes;
}

/// <summary>
/// Reads a request's body, within its route's <see cref="BodyLimit"/> (<see cref="BodyLimit.Json"/> by
/// default instead of Kestrel's 30 MB), before the endpoint runs. Minimal APIs' JSON binding swallows a
/// body read that fails (an IOException: too large, a malformed chunked body) instead of answering
/// it; read here, Kestrel's BadHttpRequestException reaches ServiceProblems as a 413 or 400 problem.
/// A JSON body must also be UTF-8 throughout.
/// </summary>
internal static class RequestBodyLimits
{
    public static WebApplication UseRequestBodyLimits(this WebApplication app)
    {
        app.Use(static async (context, next) =>
        {
            var request = context.Request;
            if (request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0))
            {
                var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize ?? BodyLimit.Json.Bytes;
                if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
                request.EnableBuffering(bufferThreshold: (int)Math.Min(limit, 64 * 1024), bufferLimit: limit);
                await request.Body.DrainAsync(context.RequestAborted);
                request.Body.Position = 0;
                if (request.HasJsonContentType() && !await IsUtf8Async(request.Body, context.RequestAborted))
                {
                    // System.Text.Json skips an unknown property without checking its name's bytes.
                    await ServiceProblems.WriteAsync(context, new HttpValidationProblemDetails(new Dictionary<string, string[]> { ["body"] = [NotUtf8] })
                    {
                        Status = StatusCodes.Status400BadRequest,
                        Title = "The request is not valid.",
                        Detail = NotUtf8,
                    });
                    return;
                }
            }
            await next(context);
        });
        return app;
    }

    private const string NotUtf8 = "The body is not valid UTF-8 (JSON must be).";

    private static async Task<bool> IsUtf8Async(Stream body, CancellationToken ct)
    {
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy, ct);
        body.Position = 0;
        return System.Text.Unicode.Utf8.IsValid(copy.GetBuffer().AsSpan(0, (int)copy.Length));
    }
}
