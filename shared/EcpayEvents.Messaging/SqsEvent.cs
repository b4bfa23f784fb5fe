using System.Text.Json.Serialization;

namespace EcpayEvents.Messaging;

// Hand-written to the documented wire shape of Lambda's SQS event and partial batch response
// (the Amazon.Lambda.* packages are not available). Lambda Web Adapter POSTs the event JSON to
// /events and returns our response body to Lambda.

public sealed record SqsEvent(
    [property: JsonPropertyName("Records")] IReadOnlyList<SqsMessage> Records);

public sealed record SqsMessage(
    [property: JsonPropertyName("messageId")] string MessageId,
    [property: JsonPropertyName("receiptHandle")] string? ReceiptHandle,
    [property: JsonPropertyName("body")] string Body,
    [property: JsonPropertyName("attributes")] IReadOnlyDictionary<string, string>? Attributes,
    [property: JsonPropertyName("messageAttributes")] IReadOnlyDictionary<string, SqsMessageAttribute>? MessageAttributes,
    [property: JsonPropertyName("md5OfBody")] string? Md5OfBody,
    [property: JsonPropertyName("eventSource")] string? EventSource,
    [property: JsonPropertyName("eventSourceARN")] string? EventSourceArn,
    [property: JsonPropertyName("awsRegion")] string? AwsRegion);

public sealed record SqsMessageAttribute(
    [property: JsonPropertyName("stringValue")] string? StringValue,
    [property: JsonPropertyName("binaryValue")] string? BinaryValue,
    [property: JsonPropertyName("dataType")] string DataType);

public sealed record SqsBatchResponse(
    [property: JsonPropertyName("batchItemFailures")] IReadOnlyList<SqsBatchItemFailure> BatchItemFailures);

public sealed record SqsBatchItemFailure(
    [property: JsonPropertyName("itemIdentifier")] string ItemIdentifier);

[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(SqsBatchResponse))]
public sealed partial class SqsEventJsonContext : JsonSerializerContext;
