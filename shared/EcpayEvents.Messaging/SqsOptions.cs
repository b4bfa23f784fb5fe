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
    /// The whole of one enqueue, the SDK's retries included (see <see cref="PaymentResultPublisher"/>). ECPay
    /// waits about 10 s for an answer; a 503 well before that is re-sent, a late one may count as no answer.
    /// </summary>
    [Range(0.1, 8.0, ErrorMessage = "Sqs:EnqueueBudgetSeconds must be between 0.1 and 8.")]
    public double EnqueueBudgetSeconds { get; set; } = 4;

    public TimeSpan EnqueueBudget => TimeSpan.FromSeconds(EnqueueBudgetSeconds);

    /// <summary>
    /// An SQS client for these settings. Each attempt is short (2 s; SendMessage normally takes milliseconds) so
    /// that a stalled connection leaves time to retry on a fresh one within <see cref="EnqueueBudget"/>.
    /// </summary>
    public IAmazonSQS CreateClient() => CreateClient(TimeSpan.FromSeconds(2));

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
