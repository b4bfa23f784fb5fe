using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace EcpayEvents.Messaging.StepFunctions;

/// <summary>Where and as whom the client talks to Step Functions.</summary>
public sealed class StepFunctionsClientOptions
{
    /// <summary>Endpoint override (the local server, e.g. http://127.0.0.1:4584). Default: https://states.{region}.amazonaws.com.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>Signing region. Default: the AWS SDK's region chain (AWS_REGION, profile, instance metadata).</summary>
    public string? Region { get; set; }

    /// <summary>Default: the AWS SDK's credential chain (environment, profile, container/instance role).</summary>
    public AWSCredentials? Credentials { get; set; }

    /// <summary>The state machine <see cref="StepFunctionsClient.StartOrFindExecutionAsync"/> starts executions of.</summary>
    public string? StateMachineArn { get; set; }
}

/// <summary>Result of <see cref="StepFunctionsClient.StartOrFindExecutionAsync"/>.</summary>
/// <param name="AlreadyScheduled">True when an execution of that name existed already (it may have finished).</param>
public sealed record ScheduledExecution(string ExecutionArn, bool AlreadyScheduled);

/// <summary>
/// A small Step Functions client over the JSON 1.0 protocol, signed with SigV4 by AWSSDK.Core's signer
/// (<see cref="SigV4"/>): the operations the payment backend and its operators use. Thread-safe; share
/// one per process.
/// </summary>
public sealed class StepFunctionsClient(HttpClient httpClient, StepFunctionsClientOptions options)
{
    private const string Service = "states";
    private const string ContentType = "application/x-amz-json-1.0";

    private readonly Lazy<string> _region = new(() => ResolveRegion(options));
    private readonly Lazy<Uri> _endpoint = new(() => options.ServiceUrl ?? new Uri($"https://states.{ResolveRegion(options)}.amazonaws.com/"));

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public Task<StartExecutionResponse> StartExecutionAsync(StartExecutionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("StartExecution", request, StepFunctionsJsonContext.Default.StartExecutionRequest, StepFunctionsJsonContext.Default.StartExecutionResponse, cancellationToken);

    public Task<DescribeExecutionResponse> DescribeExecutionAsync(string executionArn, CancellationToken cancellationToken = default) =>
        SendAsync("DescribeExecution", new ExecutionArnRequest(executionArn), StepFunctionsJsonContext.Default.ExecutionArnRequest, StepFunctionsJsonContext.Default.DescribeExecutionResponse, cancellationToken);

    public Task<ListExecutionsResponse> ListExecutionsAsync(ListExecutionsRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("ListExecutions", request, StepFunctionsJsonContext.Default.ListExecutionsRequest, StepFunctionsJsonContext.Default.ListExecutionsResponse, cancellationToken);

    public Task<GetExecutionHistoryResponse> GetExecutionHistoryAsync(GetExecutionHistoryRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("GetExecutionHistory", request, StepFunctionsJsonContext.Default.GetExecutionHistoryRequest, StepFunctionsJsonContext.Default.GetExecutionHistoryResponse, cancellationToken);

    public Task<StopExecutionResponse> StopExecutionAsync(string executionArn, string? error = null, string? cause = null, CancellationToken cancellationToken = default) =>
        SendAsync("StopExecution", new StopExecutionRequest(executionArn, error, cause), StepFunctionsJsonContext.Default.StopExecutionRequest, StepFunctionsJsonContext.Default.StopExecutionResponse, cancellationToken);

    /// <summary>ListExecutions' largest page.</summary>
    public const int MaxListResults = 1000;

    /// <summary>All pages of ListExecutions, newest first.</summary>
    public IAsyncEnumerable<ExecutionListItem> ListAllExecutionsAsync(
        string stateMachineArn,
        string? statusFilter = null,
        CancellationToken cancellationToken = default) =>
        ListAllExecutionsAsync(stateMachineArn, statusFilter, MaxListResults, cancellationToken);

    /// <summary>
    /// All pages of ListExecutions, newest first, <paramref name="pageSize"/> (1–1000) per request: a caller that
    /// stops after N items asks for min(N, 1000) so it does not fetch (and pay for) a page it will not read.
    /// </summary>
    public async IAsyncEnumerable<ExecutionListItem> ListAllExecutionsAsync(
        string stateMachineArn,
        string? statusFilter,
        int pageSize,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, MaxListResults);
        string? token = null;
        do
        {
            var page = await ListExecutionsAsync(new ListExecutionsRequest(stateMachineArn, statusFilter, pageSize, token), cancellationToken);
            foreach (var execution in page.Executions)
            {
                yield return execution;
            }
            token = page.NextToken;
        } while (token is not null);
    }

    /// <summary>The whole history of an execution, oldest event first.</summary>
    public async Task<IReadOnlyList<HistoryEvent>> GetFullExecutionHistoryAsync(string executionArn, CancellationToken cancellationToken = default)
    {
        var events = new List<HistoryEvent>();
        string? token = null;
        do
        {
            var page = await GetExecutionHistoryAsync(new GetExecutionHistoryRequest(executionArn, 1000, NextToken: token), cancellationToken);
            events.AddRange(page.Events);
            token = page.NextToken;
        } while (token is not null);
        return events;
    }

    /// <summary>
    /// Starts the execution called <paramref name="name"/> of <see cref="StepFunctionsClientOptions.StateMachineArn"/>,
    /// or reports that it exists already. Safe to call again for the same payment: execution names are
    /// never reused, so a retry after a lost response (or a duplicate request) cannot start a second timer.
    /// </summary>
    public async Task<ScheduledExecution> StartOrFindExecutionAsync(string name, string input, CancellationToken cancellationToken = default)
    {
        var stateMachineArn = options.StateMachineArn
            ?? throw new InvalidOperationException($"{nameof(StepFunctionsClientOptions)}.{nameof(StepFunctionsClientOptions.StateMachineArn)} is not set");
        try
        {
            var started = await StartExecutionAsync(new StartExecutionRequest(stateMachineArn, name, input), cancellationToken);
            return new ScheduledExecution(started.ExecutionArn, AlreadyScheduled: false);
        }
        catch (StepFunctionsException e) when (e.ErrorCode == StepFunctionsErrorCodes.ExecutionAlreadyExists)
        {
            return new ScheduledExecution(ExecutionArnOf(stateMachineArn, name), AlreadyScheduled: true);
        }
    }

    /// <summary>arn:…:stateMachine:NAME + execution name → arn:…:execution:NAME:EXECUTION.</summary>
    public static string ExecutionArnOf(string stateMachineArn, string executionName)
    {
        const string marker = ":stateMachine:";
        var i = stateMachineArn.IndexOf(marker, StringComparison.Ordinal);
        if (i < 0)
        {
            throw new ArgumentException($"not a state machine ARN: {stateMachineArn}", nameof(stateMachineArn));
        }
        return $"{stateMachineArn[..i]}:execution:{stateMachineArn[(i + marker.Length)..]}:{executionName}";
    }

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        string operation,
        TRequest request,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, requestType);
        var endpoint = _endpoint.Value;
        var target = $"AWSStepFunctions.{operation}";
        var credentials = Credentials(endpoint);

        var signed = await SigV4.SignAsync(HttpMethod.Post, endpoint,
            [new("Content-Type", ContentType), new("X-Amz-Target", target)],
            body, credentials, _region.Value, Service, Clock.GetUtcNow(), cancellationToken);

        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint);
        message.Content = new ByteArrayContent(body);
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        message.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        foreach (var (name, value) in signed)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await httpClient.SendAsync(message, cancellationToken);
        var text = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw ToException(operation, response, text);
        }
        return JsonSerializer.Deserialize(text, responseType)
            ?? throw new StepFunctionsException("SerializationException", $"{operation}: empty response", response.StatusCode);
    }

    private static StepFunctionsException ToException(string operation, HttpResponseMessage response, byte[] body)
    {
        ErrorResponse? error = null;
        try
        {
            error = JsonSerializer.Deserialize(body, StepFunctionsJsonContext.Default.ErrorResponse);
        }
        catch (JsonException)
        {
            // Not the protocol's error shape (a proxy, a load balancer): fall back to the status.
        }
        var type = error?.Type
            ?? (response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.FirstOrDefault() : null)
            ?? $"Http{(int)response.StatusCode}";
        // "com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists" and "Code:http://…" both name "Code".
        var code = type[(type.LastIndexOf('#') + 1)..];
        var colon = code.IndexOf(':');
        if (colon >= 0)
        {
            code = code[..colon];
        }
        var message = error?.Message ?? error?.MessageUpper ?? System.Text.Encoding.UTF8.GetString(body);
        return new StepFunctionsException(code, $"{operation}: {code}: {message}", response.StatusCode);
    }

    /// <summary>The local server does not check signatures; AWS gets the configured or the SDK's default chain.</summary>
    private AWSCredentials Credentials(Uri endpoint)
    {
        if (options.Credentials is null && endpoint.IsLoopback)
        {
            // A developer needs no AWS account, and probing the credential chain (instance metadata)
            // would only add seconds.
            return LocalCredentials;
        }
        // Environment, profile, web identity, container/instance role; resolved (and refreshed) when signing.
        return options.Credentials ?? DefaultAWSCredentialsIdentityResolver.GetCredentials();
    }

    private static readonly BasicAWSCredentials LocalCredentials = new("local", "local");

    private static string ResolveRegion(StepFunctionsClientOptions options)
    {
        if (!string.IsNullOrEmpty(options.Region))
        {
            return options.Region;
        }
        if (options.ServiceUrl is { IsLoopback: true })
        {
            return "us-east-1"; // the local server ignores the region
        }
        string? region = null;
        try
        {
            region = FallbackRegionFactory.GetRegionEndpoint()?.SystemName;
        }
        catch (AmazonClientException)
        {
            // No region configured anywhere.
        }
        return region ?? throw new InvalidOperationException("No AWS region: set AWS_REGION or StepFunctionsClientOptions.Region");
    }
}

/// <summary>An error answer of Step Functions, with its AWS error code.</summary>
public sealed class StepFunctionsException(string errorCode, string message, HttpStatusCode statusCode) : Exception(message)
{
    public string ErrorCode { get; } = errorCode;
    public HttpStatusCode StatusCode { get; } = statusCode;
}

/// <summary>The error codes callers act on.</summary>
public static class StepFunctionsErrorCodes
{
    public const string ExecutionAlreadyExists = "ExecutionAlreadyExists";
    public const string ExecutionDoesNotExist = "ExecutionDoesNotExist";
    public const string StateMachineDoesNotExist = "StateMachineDoesNotExist";
    public const string InvalidArn = "InvalidArn";
    public const string InvalidName = "InvalidName";
    public const string InvalidExecutionInput = "InvalidExecutionInput";
    public const string ExecutionLimitExceeded = "ExecutionLimitExceeded";
    public const string ThrottlingException = "ThrottlingException";
}
