using MySqlConnector;

namespace EcpayEvents.Cli.Database;

/// <summary>
/// `ecpay-events db prune-rejected --days N`: deletes rejected results (payment_events with outcome
/// rejected) recorded more than N days ago, so that a flood of junk cannot grow the table without
/// bound. Kept whatever their age: those of a transaction whose review is still open (evidence for an
/// open case). Everything else that was rejected has been listed by `db review` (which exits 1) for N days.
/// Deletes in batches of 1,000 rows, each its own short transaction.
/// </summary>
public static class RejectedEventsRetention
{
    private const string Candidates = """
        FROM payment_events e
        WHERE e.outcome = 'rejected' AND e.recorded_at < @cutoff
          AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = e.transaction_id AND t.review_reason IS NOT NULL AND t.reviewed_at IS NULL)
        """;

    public static async Task<long> CountAsync(string connectionString, int days)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new MySqlCommand("SELECT COUNT(*) " + Candidates, connection);
        cmd.Parameters.AddWithValue("@cutoff", Cutoff(days));
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<long> PruneAsync(string connectionString, int days)
    {
        var cutoff = Cutoff(days);
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        long total = 0;
        while (true)
        {
            // MySQL allows no LIMIT on a multi-table DELETE and no subquery on the same table: ids first.
            await using var select = new MySqlCommand("SELECT e.id " + Candidates + " ORDER BY e.id LIMIT 1000", connection);
            select.Parameters.AddWithValue("@cutoff", cutoff);
            var ids = new List<long>();
            await using (var reader = await select.ExecuteReaderAsync())
                while (await reader.ReadAsync()) ids.Add(reader.GetInt64(0));
            if (ids.Count == 0) return total;
            await using var delete = new MySqlCommand($"DELETE FROM payment_events WHERE outcome = 'rejected' AND id IN ({string.Join(',', ids)})", connection);
            total += await delete.ExecuteNonQueryAsync();
        }
    }

    private static DateTime Cutoff(int days) => DateTime.UtcNow.AddDays(-days);
}
