using System.Globalization;
using MySqlConnector;

namespace EcpayEvents.Testing;

/// <summary>
/// Row-lock waits as the server shows them (information_schema INNODB_LOCK_WAITS, INNODB_TRX, INNODB_LOCKS), so that
/// a test acts once a transaction really waits, however slow the machine.
/// <para>
/// Those tables are one server-wide snapshot that InnoDB refreshes only after none of them has been read for 100 ms,
/// by anyone (every test, every checkout on the server). Read more often and each read returns the first read's
/// snapshot again: a wait that began after it is never seen. So they are read every <see cref="PollInterval"/>, and
/// the blocking session is named by its connection id (live), not by a transaction id read from that snapshot.
/// </para>
/// </summary>
public static class RowLockWaits
{
    /// <summary>Between two reads: long enough for a refresh even while another probe like this one runs.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(300);

    private const string BlockedBySql = """
        SELECT r.trx_id, r.trx_mysql_thread_id, l.lock_table
        FROM information_schema.INNODB_LOCK_WAITS w
        JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
        JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
        JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id
        WHERE b.trx_mysql_thread_id = @blocker
        """;

    // Live (not the snapshot): what the database's other connections are running, for the timeout message.
    private const string RunningSql = """
        SELECT CONCAT('connection ', ID, ', ', TIME, ' s, ', COALESCE(STATE, ''), ': ', LEFT(COALESCE(INFO, ''), 120))
        FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND COMMAND = 'Query' AND ID <> CONNECTION_ID()
        """;

    /// <summary>
    /// Until a transaction other than <paramref name="except"/>'s waits for a row of <paramref name="table"/> held by
    /// connection <paramref name="blockingConnection"/>: that wait; null when <paramref name="stopLooking"/> says so first
    /// (the awaited work ended without waiting). The timeout message says what waited and what was running.
    /// </summary>
    public static async Task<RowLockWait?> WaitForAsync(TestDatabase db, long blockingConnection, string table, Func<bool> stopLooking, string what,
        RowLockWait? except = null, TimeSpan? timeout = null)
    {
        bool Wanted(RowLockWait w) => w.IsOn(table) && w.WaitingTrx != except?.WaitingTrx;
        var seen = await Poll.UntilAsync(
            async () => stopLooking() ? null : await ReadAsync(db, blockingConnection),
            s => s is null || s.Value.Waits.Any(Wanted),
            what, timeout,
            s => $"waits behind connection {blockingConnection}: [{string.Join("; ", s!.Value.Waits)}]; running: [{string.Join("; ", s.Value.Running)}]",
            PollInterval);
        return seen?.Waits.First(Wanted);
    }

    private static async Task<(IReadOnlyList<RowLockWait> Waits, IReadOnlyList<string> Running)?> ReadAsync(TestDatabase db, long blockingConnection)
    {
        await using var c = new MySqlConnection(db.ConnectionString);
        await c.OpenAsync();
        var waits = new List<RowLockWait>();
        await using (var cmd = new MySqlCommand(BlockedBySql, c))
        {
            cmd.Parameters.AddWithValue("@blocker", blockingConnection);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
                waits.Add(new RowLockWait(Convert.ToString(r.GetValue(0), CultureInfo.InvariantCulture)!, Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture), r.GetString(2)));
        }
        var running = new List<string>();
        await using (var cmd = new MySqlCommand(RunningSql, c))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            while (await r.ReadAsync()) running.Add(r.GetString(0));
        }
        return (waits, running);
    }
}
