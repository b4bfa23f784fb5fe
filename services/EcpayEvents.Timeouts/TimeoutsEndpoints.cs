using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using EcpayEvents.Payments.Timeouts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EcpayEvents.Timeouts;

/// <summary>
/// The body of a failed Reconcile, self-describing because it travels inside the execution's cause: Lambda Web
/// Adapter fails the invocation with <c>{"statusCode":N,"body":"&lt;this, as a JSON string&gt;"}</c> as the Lambda
/// error message, under an error name of its own (see <see cref="EcpayEvents.Payments.Timeouts.TaskFailure"/>).
/// </summary>
public sealed record TaskError(
    [property: JsonPropertyName("errorType")] string ErrorType,
    [property: JsonPropertyName("errorMessage")] string ErrorMessage);

[JsonSerializable(typeof(TaskError))]
public sealed partial class TimeoutsJsonContext : JsonSerializerContext
{
    /// <summary>Relaxed escaping (no \uXXXX for Chinese or &lt;&gt;): error text is read by people inside a JSON string inside a JSON string, never as HTML.</summary>
    public static TimeoutsJsonContext Readable { get; } = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}

public static partial class TimeoutsEndpoints
{
    public static IEndpointRouteBuilder MapTimeoutsEndpoints(this IEndpointRouteBuilder app)
    {
        // Lambda Web Adapter's pass-through path: the Reconcile task's input.
        app.MapPost("/events", Reconcile);
        return app;
    }

    /// <summary>
    /// State input {transactionId, merchantTradeNo, expiresAt, executionName, confirmCredit} → {outcome[, expiresAt]}. An error
    /// answers 4xx/5xx with {errorType, errorMessage}; on AWS, AWS_LWA_ERROR_STATUS_CODES (400-599) makes Lambda Web
    /// Adapter fail the invocation, so the state machine retries, then goes to NeedsReview.
    /// </summary>
    public static async Task<Results<JsonHttpResult<ReconcileAnswer>, JsonHttpResult<TaskError>>> Reconcile(HttpRequest request, ReconcilePayment reconcile, ILogger<ReconcilePayment> log, CancellationToken ct)
    {
        ReconcileTaskInput? task;
        try
        {
            task = await JsonSerializer.DeserializeAsync(request.Body, PaymentTimeoutJsonContext.Default.ReconcileTaskInput, ct);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return Error(StatusCodes.Status400BadRequest, ReconcileErrors.InvalidInput, $"not a payment-timeout input: {e.Message}");
        }
        if (task is null || task.TransactionId <= 0 || string.IsNullOrEmpty(task.MerchantTradeNo) || task.ExpiresAt == default)
            return Error(StatusCodes.Status400BadRequest, ReconcileErrors.InvalidInput, "expected {transactionId, merchantTradeNo, expiresAt}");
        var input = new PaymentTimeoutInput(task.TransactionId, task.MerchantTradeNo, task.ExpiresAt);

        // The state machine passes $$.Execution.Name.
        var execution = task.ExecutionName ?? "";
        using var scope = log.BeginScope(new Dictionary<string, object> { ["MerchantTradeNo"] = input.MerchantTradeNo, ["Execution"] = execution });
        try
        {
            var result = await reconcile.HandleAsync(input, task.ConfirmCredit, ct);
            if (result.Answer is { } answer)
                return TypedResults.Json(answer, PaymentTimeoutJsonContext.Default.ReconcileAnswer);
            var error = result.Error!;
            return Error(StatusFor(error.ErrorType), error.ErrorType, error.Message);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // Database or queue trouble: retryable, and the state machine keeps the message.
            LogUnexpected(log, e, input.MerchantTradeNo);
            return Error(StatusCodes.Status500InternalServerError, ReconcileErrors.Internal, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static int StatusFor(string errorType) => errorType switch
    {
        ReconcileErrors.EcpayUnavailable or ReconcileErrors.EcpayThrottled => StatusCodes.Status503ServiceUnavailable,
        ReconcileErrors.EcpayBadAnswer or ReconcileErrors.UnknownTradeStatus => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static JsonHttpResult<TaskError> Error(int status, string errorType, string message) =>
        TypedResults.Json(new TaskError(errorType, message), TimeoutsJsonContext.Readable.TaskError, statusCode: status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconcile {MerchantTradeNo} failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string merchantTradeNo);
}
