using Amazon.SQS.Model;
using EcpayEvents.Testing;

namespace EcpayEvents.Infrastructure.Tests;

public sealed class LocalStackTests
{
    [Fact]
    public async Task MigrationsCreateTheLedgerTablesAndAreIdempotent()
    {
        await using var db = await TestDatabase.CreateAsync("migrate");
        var tables = await db.ScalarAsync<long>(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('users','transactions','payment_events','ledger_entries')");
        Assert.Equal(4, tables);
        Assert.Equal(0, await EcpayEvents.Cli.Database.DatabaseMigrator.MigrateAsync(db.ConnectionString, _ => { }));
        await db.AssertLedgerInvariantAsync();
    }

    [Fact]
    public async Task LedgerInvariantCheckNoticesABalanceWithoutLedgerEntries()
    {
        await using var db = await TestDatabase.CreateAsync("invariant");
        await db.ExecuteAsync("INSERT INTO users (username, email, balance) VALUES ('a', 'a@example.com', 100)");
        await Assert.ThrowsAsync<LedgerInvariantViolation>(db.AssertLedgerInvariantAsync);
    }

    [Fact]
    public async Task SqsServerMovesAMessageToTheDeadLetterQueueAfterMaxReceives()
    {
        await using var sqs = await LocalSqsServer.StartAsync(maxReceiveCount: 2, visibilityTimeoutSeconds: 1);
        using var client = sqs.CreateClient();
        await client.SendMessageAsync(sqs.QueueUrl, "poison");
        for (var i = 0; i < 2; i++)
        {
            var got = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 5, VisibilityTimeout = 1 });
            Assert.Single(got.Messages);
            await Task.Delay(1200);
        }
        var again = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 2 });
        Assert.True(again.Messages is null || again.Messages.Count == 0);
        var dead = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.DeadLetterQueueUrl, WaitTimeSeconds = 5 });
        Assert.Equal("poison", Assert.Single(dead.Messages).Body);
    }
}
