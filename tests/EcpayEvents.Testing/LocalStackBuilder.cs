using EcpayEvents.Ecpay;

namespace EcpayEvents.Testing;

/// <summary>
/// The one way a test fixture starts its local stack: it says which parts it wants (a database, fauxqs with its
/// queues), they start at once, and the <see cref="LocalStackParts"/> hosts the services, the Step Functions server
/// and the event-source runner on top of them, stopping everything in reverse order.
/// </summary>
public sealed class LocalStackBuilder
{
    private string? databasePrefix;
    private (int MaxReceiveCount, int VisibilityTimeoutSeconds)? sqs;

    /// <summary>A database of its own, migrated (<paramref name="prefix"/>: 7+ characters).</summary>
    public LocalStackBuilder WithDatabase(string prefix)
    {
        databasePrefix = prefix;
        return this;
    }

    /// <summary>An SQS server of its own with the payment-results queue and its dead-letter queue.</summary>
    public LocalStackBuilder WithSqs(int maxReceiveCount, int visibilityTimeoutSeconds)
    {
        sqs = (maxReceiveCount, visibilityTimeoutSeconds);
        return this;
    }

    public async Task<LocalStackParts> StartAsync(EcpayCredentials? credentials = null)
    {
        var database = databasePrefix is null ? Task.FromResult<TestDatabase?>(null) : StartDatabaseAsync(databasePrefix);
        var queues = sqs is { } q ? StartSqsAsync(q.MaxReceiveCount, q.VisibilityTimeoutSeconds) : Task.FromResult<LocalSqsServer?>(null);
        return new LocalStackParts(credentials ?? EcpayCredentials.Stage, await database, await queues);
    }

    private static async Task<TestDatabase?> StartDatabaseAsync(string prefix) => await TestDatabase.CreateAsync(prefix);

    private static async Task<LocalSqsServer?> StartSqsAsync(int maxReceiveCount, int visibilityTimeoutSeconds) =>
        await LocalSqsServer.StartAsync(maxReceiveCount, visibilityTimeoutSeconds);
}
