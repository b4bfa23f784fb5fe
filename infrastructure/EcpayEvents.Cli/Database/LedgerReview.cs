using System.Globalization;
using EcpayEvents.Payments.Settlement;
using MySqlConnector;

namespace EcpayEvents.Cli.Database;

/// <summary>
/// `ecpay-events db review`: what Settlement set aside for an operator. Transactions with a
/// <c>review_reason</c> (money after expiry or failure — credited; a paid result with the wrong amount,
/// posted to the wrong endpoint, or after a simulation — not credited), each with the events that
/// raised attention (the transaction keeps only the latest reason; the events keep them all), and
/// rejected results that match no transaction (unknown MerchantTradeNo). Newest first.
/// </summary>
public static class LedgerReview
{
    /// <summary>The events an operator should see (SettlementDecision.NeedsAttention, as stored).</summary>
    private const string NeedsAttention = $"""
        (outcome IN ('{SettlementOutcome.Rejected}', '{SettlementOutcome.CreditedLate}', '{SettlementOutcome.Simulated}')
         OR (outcome = '{SettlementOutcome.Ignored}' AND reason = '{SettlementDecision.NeverDowngraded}'))
        """;

    /// <returns>How many transactions and unmatched events were listed.</returns>
    public static async Task<int> PrintAsync(string connectionString, int days, TextWriter output)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        var since = DateTime.UtcNow.AddDays(-days);

        var flagged = new List<(long Id, string Line)>();
        await using (var cmd = new MySqlCommand("""
            SELECT t.id, t.user_id, t.merchant_trade_no, t.amount, t.status, t.review_reason, t.updated_at,
                   EXISTS (SELECT 1 FROM ledger_entries l WHERE l.transaction_id = t.id) AS credited
            FROM transactions t
            WHERE t.review_reason IS NOT NULL AND t.updated_at >= @since
            ORDER BY t.updated_at DESC, t.id DESC
            """, connection))
        {
            cmd.Parameters.AddWithValue("@since", since);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                var id = r.GetInt64(0);
                flagged.Add((id, string.Create(CultureInfo.InvariantCulture,
                    $"transaction {id}  user {r.GetInt64(1)}  {(r.IsDBNull(2) ? "-" : r.GetString(2))}  {r.GetInt64(3)} TWD  {r.GetString(4)}  {(r.GetInt64(7) == 1 ? "credited" : "NOT credited")}  {Utc(r.GetDateTime(6))}\n  review: {r.GetString(5)}")));
            }
        }

        foreach (var (id, line) in flagged)
        {
            output.WriteLine(line);
            await using var cmd = new MySqlCommand($"""
                SELECT source, outcome, reason, received_at FROM payment_events
                WHERE transaction_id = @id AND {NeedsAttention}
                ORDER BY id
                """, connection);
            cmd.Parameters.AddWithValue("@id", id);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
                output.WriteLine($"    {Utc(r.GetDateTime(3))}  {r.GetString(0)}  {r.GetString(1)}: {(r.IsDBNull(2) ? "" : r.GetString(2))}");
        }

        var unmatched = 0;
        await using (var cmd = new MySqlCommand($"""
            SELECT merchant_trade_no, source, reason, received_at FROM payment_events
            WHERE transaction_id IS NULL AND outcome = '{SettlementOutcome.Rejected}' AND received_at >= @since
            ORDER BY id DESC
            """, connection))
        {
            cmd.Parameters.AddWithValue("@since", since);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                if (unmatched++ == 0) output.WriteLine("rejected results that match no transaction:");
                output.WriteLine($"  {Utc(r.GetDateTime(3))}  {(r.IsDBNull(0) ? "-" : r.GetString(0))}  {r.GetString(1)}: {(r.IsDBNull(2) ? "" : r.GetString(2))}");
            }
        }

        var total = flagged.Count + unmatched;
        output.WriteLine(total == 0
            ? $"nothing to review in the last {days} day(s)"
            : $"{flagged.Count} transaction(s) flagged for review, {unmatched} unmatched rejected result(s) in the last {days} day(s)");
        return total;
    }

    private static string Utc(DateTime value) => value.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";
}
