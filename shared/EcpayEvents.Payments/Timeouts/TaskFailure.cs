using System.Globalization;
using System.Text.Json;

namespace EcpayEvents.Payments.Timeouts;

/// <summary>
/// A failed Reconcile task (or a failed payment-timeout execution) with the Timeouts service's own error
/// unwrapped: <see cref="ErrorType"/> such as <c>Reconcile.EcpayUnavailable</c>, <see cref="ErrorMessage"/>
/// and, when Lambda Web Adapter failed the invocation, the HTTP <see cref="StatusCode"/> the service answered.
/// </summary>
/// <remarks>
/// On AWS, Lambda Web Adapter 1.0.0 (AWS_LWA_ERROR_STATUS_CODES) fails the invocation with an error whose
/// errorType is a Rust type name and whose errorMessage is <c>{"statusCode":N,"body":"…"}</c>; Step Functions
/// reports that errorType as the error and the Lambda error JSON as the cause:
/// <code>cause = {"errorType":"&amp;alloc::boxed::Box&lt;dyn core::error::Error + …&gt;","errorMessage":"{\"statusCode\":503,\"body\":\"{\\\"errorType\\\":\\\"Reconcile.EcpayUnavailable\\\",\\\"errorMessage\\\":\\\"…\\\"}\"}"}</code>
/// The local Step Functions server imitates that. <see cref="Unwrap"/> reads any level of it and falls back
/// to the error and cause as given (a States.* error, a Fail state's own error such as Reconcile.UnexpectedOutcome).
/// </remarks>
public sealed record TaskFailure(string? ErrorType, string? ErrorMessage, int? StatusCode)
{
    /// <summary>The innermost error that names itself, from a Step Functions error and cause.</summary>
    public static TaskFailure Unwrap(string? error, string? cause)
    {
        var fallback = new TaskFailure(error, cause, null);
        if (ReadError(cause) is not { } lambda) return fallback;
        // The Lambda error JSON: is its message Lambda Web Adapter's {statusCode, body}?
        if (ReadAdapterMessage(lambda.Message) is not { } adapter) return new TaskFailure(lambda.Type, lambda.Message, null);
        return ReadError(adapter.Body) is { } ours
            ? new TaskFailure(ours.Type, ours.Message, adapter.StatusCode)
            : new TaskFailure(error, adapter.Body, adapter.StatusCode);
    }

    /// <summary>One line for an operator: "Reconcile.EcpayUnavailable (HTTP 503): QueryTradeInfo: timed out".</summary>
    public override string ToString() =>
        $"{ErrorType}{(StatusCode is { } s ? string.Create(CultureInfo.InvariantCulture, $" (HTTP {s})") : "")}{(ErrorMessage is null ? "" : $": {ErrorMessage}")}";

    private static (string Type, string Message)? ReadError(string? json)
    {
        if (!LooksLikeObject(json)) return null;
        try
        {
            using var doc = JsonDocument.Parse(json!);
            var root = doc.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("errorType", out var type) && type.ValueKind == JsonValueKind.String
                && root.TryGetProperty("errorMessage", out var message) && message.ValueKind == JsonValueKind.String
                ? (type.GetString()!, message.GetString()!)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static (int StatusCode, string Body)? ReadAdapterMessage(string json)
    {
        if (!LooksLikeObject(json)) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("statusCode", out var status) && status.ValueKind == JsonValueKind.Number && status.TryGetInt32(out var code)
                && root.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.String
                ? (code, body.GetString()!)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool LooksLikeObject(string? text) => text is not null && text.AsSpan().TrimStart().StartsWith("{");
}
