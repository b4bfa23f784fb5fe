using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EcpayEvents.LoadBench;

/// <summary>Bare SQS JSON-protocol requests (what the AWS SDK sends, unsigned: the local server does not check signatures).</summary>
internal static class Sqs
{
    private static readonly MediaTypeHeaderValue AmzJson = new("application/x-amz-json-1.0");

    public static HttpRequestMessage Request(Uri endpoint, string action, byte[] json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(json) };
        request.Content.Headers.ContentType = AmzJson;
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "AmazonSQS." + action);
        request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0");
        return request;
    }

    public static byte[] SendMessage(string queueUrl, string body) =>
        Encoding.UTF8.GetBytes(new JsonObject { ["QueueUrl"] = queueUrl, ["MessageBody"] = body }.ToJsonString());

    public static byte[] SendMessageBatch(string queueUrl, IEnumerable<string> bodies) =>
        Encoding.UTF8.GetBytes(new JsonObject
        {
            ["QueueUrl"] = queueUrl,
            ["Entries"] = new JsonArray([.. bodies.Select((b, i) => (JsonNode)new JsonObject { ["Id"] = "m" + i, ["MessageBody"] = b })]),
        }.ToJsonString());

    public static async Task CallAsync(Uri endpoint, string action, byte[] json)
    {
        using var request = Request(endpoint, action, json);
        using var response = await HttpLoad.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || text.Contains("\"Failed\":[{", StringComparison.Ordinal))
            throw new InvalidOperationException($"SQS {action}: {(int)response.StatusCode} {text}");
    }

    public static async Task<long> ApproximateCountAsync(Uri endpoint, string queueUrl)
    {
        using var request = Request(endpoint, "GetQueueAttributes", Encoding.UTF8.GetBytes(new JsonObject
        {
            ["QueueUrl"] = queueUrl,
            ["AttributeNames"] = new JsonArray("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"),
        }.ToJsonString()));
        using var response = await HttpLoad.Client.SendAsync(request);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var a = doc.RootElement.GetProperty("Attributes");
        return long.Parse(a.GetProperty("ApproximateNumberOfMessages").GetString()!) + long.Parse(a.GetProperty("ApproximateNumberOfMessagesNotVisible").GetString()!);
    }
}
