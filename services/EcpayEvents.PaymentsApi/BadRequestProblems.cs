using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// Turns a request that could not be bound (malformed JSON, a fraction or a string for an amount, a
/// wrong content type) into a 4xx problem naming the field; everything else falls through to the
/// generic 500 problem, which never carries a stack trace.
/// </summary>
internal sealed class BadRequestProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad) return false;
        var field = exception.InnerException is JsonException { Path: { Length: > 0 } path }
            ? path.TrimStart('$').TrimStart('.')
            : "body";
        if (field.Length == 0) field = "body";
        var detail = exception.InnerException is JsonException
            ? $"'{field}' has the wrong type or the body is not valid JSON."
            : bad.StatusCode == StatusCodes.Status415UnsupportedMediaType ? "Send the body as application/json." : "The request could not be read.";
        context.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] })
            {
                Status = bad.StatusCode,
                Title = "The request is not valid.",
                Detail = detail,
            },
            Exception = exception,
        });
    }
}
