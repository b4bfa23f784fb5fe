using System.Text.Json;
using EcpayEvents.Hosting;
using Microsoft.AspNetCore.Diagnostics;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// Turns a request that could not be bound (malformed JSON, a fraction or a string for an amount)
/// into a 4xx problem naming the field; everything else falls through to the generic 500 problem,
/// which never carries a stack trace. (A body that is not JSON does not throw: the framework answers
/// 415 itself, and <see cref="StatusCodeProblems"/> writes that problem.)
/// </summary>
internal sealed class BadRequestProblems : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad) return false;
        var field = exception.InnerException is JsonException { Path: { Length: > 0 } path }
            ? path.TrimStart('$').TrimStart('.')
            : "body";
        if (field.Length == 0) field = "body";
        var detail = exception.InnerException switch
        {
            // AllowDuplicateProperties = false: System.Text.Json says "Duplicate property …".
            JsonException j when j.Message.StartsWith("Duplicate", StringComparison.Ordinal) => $"'{field}' appears more than once.",
            JsonException => $"'{field}' has the wrong type or the body is not valid JSON.",
            _ => "The request could not be read.",
        };
        // Only what binding failed on (JSON, a parameter) is named here; what Kestrel could not read (a
        // malformed chunked body, too large: no JsonException) is ServiceProblems' generic answer.
        if (exception.InnerException is not JsonException && bad.StatusCode != StatusCodes.Status400BadRequest) return false;
        if (bad.InnerException is BadHttpRequestException) return false;
        await ServiceProblems.WriteAsync(context, new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] })
        {
            Status = bad.StatusCode,
            Title = "The request is not valid.",
            Detail = detail,
        });
        return true;
    }
}

/// <summary>
/// Bodies for the status codes the framework answers without one (UseStatusCodePages): a problem
/// with a detail a client can act on.
/// </summary>
internal static class StatusCodeProblems
{
    public const string JsonOnly = "Send the body as JSON with Content-Type: application/json.";

    public static async Task WriteAsync(StatusCodeContext statusContext)
    {
        var http = statusContext.HttpContext;
        var status = http.Response.StatusCode;
        var method = http.Request.Method;
        var path = http.Request.Path.Value ?? "/";
        var allow = http.Response.Headers.Allow.ToString();
        Microsoft.AspNetCore.Mvc.ProblemDetails problem = status switch
        {
            StatusCodes.Status415UnsupportedMediaType => new HttpValidationProblemDetails(new Dictionary<string, string[]> { ["body"] = [JsonOnly] })
            {
                Title = "The request is not valid.",
                Detail = JsonOnly,
            },
            StatusCodes.Status405MethodNotAllowed => new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Title = "Method not allowed.",
                Detail = allow.Length > 0 ? $"{method} is not allowed on {path}; allowed: {allow}." : $"{method} is not allowed on {path}.",
            },
            StatusCodes.Status401Unauthorized => new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Title = "Sign in first.",
                Detail = "Send a valid access token of this service's user pool: Authorization: Bearer <token>.",
            },
            StatusCodes.Status403Forbidden => new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Title = "Not allowed.",
                Detail = $"{method} {path} is not allowed for this account.",
            },
            StatusCodes.Status404NotFound => new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Title = "Not found.",
                Detail = $"Nothing is at {path}.",
            },
            _ => new Microsoft.AspNetCore.Mvc.ProblemDetails(),
        };
        problem.Status = status;
        // Not IProblemDetailsService.WriteAsync: it throws for a browser's Accept: text/html (a 500).
        await ServiceProblems.WriteAsync(http, problem);
    }
}
