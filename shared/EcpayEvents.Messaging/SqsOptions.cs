using System.ComponentModel.DataAnnotations;
using Amazon;
using Amazon.Runtime;
using Amazon.SQS;

namespace EcpayEvents.Messaging;

/// <summary>
/// Where the payment-results queue is (config section <c>Sqs</c>). On AWS only <see cref="QueueUrl"/>
/// is set and the client uses the default credential chain; locally <see cref="ServiceUrl"/> points at
/// fauxqs.
/// </summary>
public sealed class SqsOptions
{
    [Required(ErrorMessage = "Sqs:QueueUrl is required.")]
    public string QueueUrl { get; set; } = "";

    /// <summary>Empty on AWS; e.g. http://127.0.0.1:4566 for the local fauxqs server.</summary>
    public string? ServiceUrl { get; set; }

    [Required(ErrorMessage = "Sqs:Region is required.")]
    public string Region { get; set; } = "us-east-1";

    /// <summary>
    /// An SQS client for these settings. Timeouts stay short: a caller answering ECPay has 10 s in all,
    /// and an enqueue that cannot finish in time is better reported as a failure (ECPay re-sends).
    /// </summary>
    public IAmazonSQS CreateClient() => CreateClient(TimeSpan.FromSeconds(3)); // × (1 + MaxErrorRetry) stays under ECPay's 10 s

    /// <summary>An SQS client whose every request may take up to <paramref name="requestTimeout"/> (e.g. a long poll's wait and more).</summary>
    public IAmazonSQS CreateClient(TimeSpan requestTimeout)
    {
        var config = new AmazonSQSConfig
        {
            Timeout = requestTimeout,
            MaxErrorRetry = 2,
        };
        if (string.IsNullOrWhiteSpace(ServiceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(Region);
            return new AmazonSQSClient(config);
        }

        config.ServiceURL = ServiceUrl;
        config.AuthenticationRegion = Region;
        // A local endpoint does not check signatures; without this the SDK would probe for credentials
        // (environment, profile, instance metadata) and stall where there are none.
        return Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is { Length: > 0 }
            ? new AmazonSQSClient(config)
            : new AmazonSQSClient(new BasicAWSCredentials("local", "local"), config);
    }
}
