using System.Text.Json;
using System.Text.Json.Serialization;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Timeouts;

/// <summary>A Lambda function error as Lambda reports it; the local Step Functions server and Step Functions show errorType as the error.</summary>
public sealed record TaskError(
    [property: JsonPropertyName("errorType")] string ErrorType,
    [property: JsonPropertyName("errorMessage")] string ErrorMessage);

[JsonSerializable(typeof(TaskError))]
public sealed partial class TimeoutsJsonContext : JsonSerializerContext;

public static partial class TimeoutsEndpoints
{
    public static IEndpointRouteBuilder MapTimeoutsEndpoints(this IEndpointRouteBuilder app)
    {
        // Lambda Web Adapter's pass-through path: the Reconcile task's input.
        app.MapPost("/events", Reconcile);
        return app;
    }

    /// <summary>
    /// State input {transactionId, merchantTradeNo, expiresAt} → {outcome[, expiresAt]}. An error answers
    /// 5xx with {errorType, errorMessage}: the state machine retries, then goes to NeedsReview.
    /// </summary>
    public static async Task<IResult> Reconcile(HttpRequest request, ReconcilePayment reconcile, ILogger<ReconcilePayment> log, CancellationToken ct)
    {
        PaymentTimeoutInput? input;
        try
        {
            input = await JsonSerializer.DeserializeAsync(request.Body, PaymentTimeoutJsonContext.Default.PaymentTimeoutInput, ct);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return Error(StatusCodes.Status400BadRequest, ReconcileErrors.InvalidInput, $"not a payment-timeout input: {e.Message}");
        }
        if (input is null || input.TransactionId <= 0 || string.IsNullOrEmpty(input.MerchantTradeNo) || input.ExpiresAt == default)
            return Error(StatusCodes.Status400BadRequest, ReconcileErrors.InvalidInput, "expected {transactionId, merchantTradeNo, expiresAt}");

        var execution = request.Headers["x-ecpay-events-execution"].ToString();
        using var scope = log.BeginScope(new Dictionary<string, object> { ["MerchantTradeNo"] = input.MerchantTradeNo, ["Execution"] = execution });
        try
        {
            var result = await reconcile.HandleAsync(input, ct);
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

    private static IResult Error(int status, string errorType, string message) =>
        TypedResults.Json(new TaskError(errorType, message), TimeoutsJsonContext.Default.TaskError, statusCode: status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconcile {MerchantTradeNo} failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string merchantTradeNo);
}
