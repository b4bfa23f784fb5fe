using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EcpayEvents.Messaging.StepFunctions;

// The Step Functions API shapes we use, written to the documented JSON 1.0 wire format
// (AWSSDK.StepFunctions is not available). Timestamps travel as epoch seconds.

/// <summary>Execution statuses as Step Functions spells them.</summary>
public static class ExecutionStatus
{
    public const string Running = "RUNNING";
    public const string Succeeded = "SUCCEEDED";
    public const string Failed = "FAILED";
    public const string TimedOut = "TIMED_OUT";
    public const string Aborted = "ABORTED";
    public const string PendingRedrive = "PENDING_REDRIVE";

    public static readonly IReadOnlyList<string> All = [Running, Succeeded, Failed, TimedOut, Aborted, PendingRedrive];
}

public sealed record StartExecutionRequest(
    [property: JsonPropertyName("stateMachineArn")] string StateMachineArn,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("input")] string? Input);

public sealed record StartExecutionResponse(
    [property: JsonPropertyName("executionArn")] string ExecutionArn,
    [property: JsonPropertyName("startDate")] DateTimeOffset StartDate);

public sealed record DescribeExecutionResponse(
    [property: JsonPropertyName("executionArn")] string ExecutionArn,
    [property: JsonPropertyName("stateMachineArn")] string StateMachineArn,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("startDate")] DateTimeOffset StartDate,
    [property: JsonPropertyName("stopDate")] DateTimeOffset? StopDate,
    [property: JsonPropertyName("input")] string? Input,
    [property: JsonPropertyName("output")] string? Output,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("cause")] string? Cause);

public sealed record ListExecutionsRequest(
    [property: JsonPropertyName("stateMachineArn")] string StateMachineArn,
    [property: JsonPropertyName("statusFilter")] string? StatusFilter = null,
    [property: JsonPropertyName("maxResults")] int? MaxResults = null,
    [property: JsonPropertyName("nextToken")] string? NextToken = null);

public sealed record ExecutionListItem(
    [property: JsonPropertyName("executionArn")] string ExecutionArn,
    [property: JsonPropertyName("stateMachineArn")] string StateMachineArn,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("startDate")] DateTimeOffset StartDate,
    [property: JsonPropertyName("stopDate")] DateTimeOffset? StopDate);

public sealed record ListExecutionsResponse(
    [property: JsonPropertyName("executions")] IReadOnlyList<ExecutionListItem> Executions,
    [property: JsonPropertyName("nextToken")] string? NextToken);

public sealed record GetExecutionHistoryRequest(
    [property: JsonPropertyName("executionArn")] string ExecutionArn,
    [property: JsonPropertyName("maxResults")] int? MaxResults = null,
    [property: JsonPropertyName("reverseOrder")] bool? ReverseOrder = null,
    [property: JsonPropertyName("nextToken")] string? NextToken = null,
    [property: JsonPropertyName("includeExecutionData")] bool? IncludeExecutionData = null);

public sealed record GetExecutionHistoryResponse(
    [property: JsonPropertyName("events")] IReadOnlyList<HistoryEvent> Events,
    [property: JsonPropertyName("nextToken")] string? NextToken);

/// <summary>
/// One history event. Only the details our state machine (Lambda tasks, Wait/Choice/Pass/Succeed/Fail)
/// produces are typed; others (Map, Parallel, service integrations) are ignored.
/// </summary>
public sealed record HistoryEvent(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("previousEventId")] long PreviousEventId,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("executionStartedEventDetails")] PayloadEventDetails? ExecutionStartedEventDetails = null,
    [property: JsonPropertyName("executionSucceededEventDetails")] PayloadEventDetails? ExecutionSucceededEventDetails = null,
    [property: JsonPropertyName("executionFailedEventDetails")] ErrorEventDetails? ExecutionFailedEventDetails = null,
    [property: JsonPropertyName("executionAbortedEventDetails")] ErrorEventDetails? ExecutionAbortedEventDetails = null,
    [property: JsonPropertyName("executionTimedOutEventDetails")] ErrorEventDetails? ExecutionTimedOutEventDetails = null,
    [property: JsonPropertyName("stateEnteredEventDetails")] StateEventDetails? StateEnteredEventDetails = null,
    [property: JsonPropertyName("stateExitedEventDetails")] StateEventDetails? StateExitedEventDetails = null,
    [property: JsonPropertyName("lambdaFunctionScheduledEventDetails")] LambdaScheduledEventDetails? LambdaFunctionScheduledEventDetails = null,
    [property: JsonPropertyName("lambdaFunctionSucceededEventDetails")] PayloadEventDetails? LambdaFunctionSucceededEventDetails = null,
    [property: JsonPropertyName("lambdaFunctionFailedEventDetails")] ErrorEventDetails? LambdaFunctionFailedEventDetails = null,
    [property: JsonPropertyName("lambdaFunctionTimedOutEventDetails")] ErrorEventDetails? LambdaFunctionTimedOutEventDetails = null,
    [property: JsonPropertyName("lambdaFunctionScheduleFailedEventDetails")] ErrorEventDetails? LambdaFunctionScheduleFailedEventDetails = null,
    [property: JsonPropertyName("lambdaFunctionStartFailedEventDetails")] ErrorEventDetails? LambdaFunctionStartFailedEventDetails = null)
{
    /// <summary>The error of whichever failure this event records, if any.</summary>
    [JsonIgnore]
    public ErrorEventDetails? Failure =>
        ExecutionFailedEventDetails ?? ExecutionAbortedEventDetails ?? ExecutionTimedOutEventDetails
        ?? LambdaFunctionFailedEventDetails ?? LambdaFunctionTimedOutEventDetails
        ?? LambdaFunctionScheduleFailedEventDetails ?? LambdaFunctionStartFailedEventDetails;

    /// <summary>The state this event is about (entered/exited events only).</summary>
    [JsonIgnore]
    public string? StateName => StateEnteredEventDetails?.Name ?? StateExitedEventDetails?.Name;
}

public sealed record PayloadEventDetails(
    [property: JsonPropertyName("input")] string? Input = null,
    [property: JsonPropertyName("output")] string? Output = null,
    [property: JsonPropertyName("roleArn")] string? RoleArn = null);

public sealed record ErrorEventDetails(
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("cause")] string? Cause);

public sealed record StateEventDetails(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("input")] string? Input = null,
    [property: JsonPropertyName("output")] string? Output = null);

public sealed record LambdaScheduledEventDetails(
    [property: JsonPropertyName("resource")] string Resource,
    [property: JsonPropertyName("input")] string? Input = null,
    [property: JsonPropertyName("timeoutInSeconds")] long? TimeoutInSeconds = null);

public sealed record StopExecutionRequest(
    [property: JsonPropertyName("executionArn")] string ExecutionArn,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("cause")] string? Cause);

public sealed record StopExecutionResponse(
    [property: JsonPropertyName("stopDate")] DateTimeOffset StopDate);

internal sealed record ExecutionArnRequest(
    [property: JsonPropertyName("executionArn")] string ExecutionArn);

internal sealed record ErrorResponse(
    [property: JsonPropertyName("__type")] string? Type,
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("Message")] string? MessageUpper);

/// <summary>The JSON 1.0 protocol's timestamps: seconds since the epoch, with a fraction.</summary>
public sealed class EpochSecondsConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String
            ? DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture)
            : DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(reader.GetDouble() * 1000));

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value.ToUnixTimeMilliseconds() / 1000m);
}

[JsonSerializable(typeof(StartExecutionRequest))]
[JsonSerializable(typeof(StartExecutionResponse))]
[JsonSerializable(typeof(DescribeExecutionResponse))]
[JsonSerializable(typeof(ListExecutionsRequest))]
[JsonSerializable(typeof(ListExecutionsResponse))]
[JsonSerializable(typeof(GetExecutionHistoryRequest))]
[JsonSerializable(typeof(GetExecutionHistoryResponse))]
[JsonSerializable(typeof(StopExecutionRequest))]
[JsonSerializable(typeof(StopExecutionResponse))]
[JsonSerializable(typeof(ExecutionArnRequest))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(EpochSecondsConverter)])]
internal sealed partial class StepFunctionsJsonContext : JsonSerializerContext;
