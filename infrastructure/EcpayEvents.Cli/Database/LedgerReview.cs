using System.Globalization;
using EcpayEvents.Payments.Settlement;
using MySqlConnector;

namespace EcpayEvents.Cli.Database;

/// <summary>
/// `ecpay-events db review`: what Settlement set aside for an operator, until an operator resolves it.
/// <list type="bullet">
/// <item>Flagged transactions (<c>review_reason</c> set, <c>reviewed_at</c> not): money after expiry or
/// failure — credited; a paid result with the wrong amount, posted to the wrong endpoint, or after a
/// simulation — not credited. Each with the events that raised attention (the row keeps only the latest
/// reason; the events keep them all).</item>
/// <item>Other results that need attention, outside a flagged transaction: rejected ones (an unknown
/// MerchantTradeNo — money for an order we do not have?; another merchant; a CheckMacValue that does not
/// verify), simulated ones (someone pressed ECPay's back-office button), a "not paid" after completion.</item>
/// </list>
/// Resolving records when and a note; Settlement re-opens a transaction that a later result flags again
/// (the earlier note stays until the next resolution).
/// </summary>
public static class LedgerReview
{
    /// <summary>The events an operator should see (SettlementDecision.NeedsAttention, as stored).</summary>
    private const string NeedsAttention = $"""
        (outcome IN ('{SettlementOutcome.Rejected}', '{SettlementOutcome.CreditedLate}', '{SettlementOutcome.Simulated}')
         OR (outcome = '{SettlementOutcome.Ignored}' AND reason = '{SettlementDecision.NeverDowngraded}'))
        """;

    private const string OpenFlag = "t.review_reason IS NOT NULL AND t.reviewed_at IS NULL";

    /// <summary>
    /// Prints the open items, oldest first (and with <paramref name="resolvedDays"/>, those resolved in that
    /// many days). Returns how many are open.
    /// </summary>
    public static async Task<int> PrintAsync(string connectionString, int? resolvedDays, TextWriter output)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        var resolvedSince = resolvedDays is { } days ? DateTime.UtcNow.AddDays(-days) : (DateTime?)null;

        var flagged = new List<(long Id, string Line)>();
        var open = 0;
        await using (var cmd = new MySqlCommand("""
            SELECT t.id, t.user_id, t.merchant_trade_no, t.amount, t.status, t.review_reason, t.updated_at,
                   EXISTS (SELECT 1 FROM ledger_entries l WHERE l.transaction_id = t.id) AS credited,
                   t.reviewed_at, t.review_note
            FROM transactions t
            WHERE t.review_reason IS NOT NULL AND (t.reviewed_at IS NULL OR t.reviewed_at >= @resolvedSince)
            ORDER BY t.reviewed_at IS NULL, t.updated_at, t.id
            """, connection))
        {
            cmd.Parameters.AddWithValue("@resolvedSince", resolvedSince is { } since ? since : DBNull.Value);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                var id = r.GetInt64(0);
                var resolved = !r.IsDBNull(8) ? $"\n  resolved {Utc(r.GetDateTime(8))}: {Text(r, 9)}"
                    : !r.IsDBNull(9) ? $"\n  re-opened; the earlier resolution said: {r.GetString(9)}" : "";
                if (r.IsDBNull(8)) open++;
                flagged.Add((id, string.Create(CultureInfo.InvariantCulture,
                    $"transaction {id}  user {r.GetInt64(1)}  {Text(r, 2)}  {r.GetInt64(3)} TWD  {r.GetString(4)}  {(r.GetInt64(7) == 1 ? "credited" : "NOT credited")}  {Utc(r.GetDateTime(6))}\n  review: {r.GetString(5)}{resolved}")));
            }
        }

        foreach (var (id, line) in flagged)
        {
            output.WriteLine(line);
            await using var cmd = new MySqlCommand($"""
                SELECT id, source, outcome, reason, received_at FROM payment_events
                WHERE transaction_id = @id AND {NeedsAttention}
                ORDER BY id
                """, connection);
            cmd.Parameters.AddWithValue("@id", id);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
                output.WriteLine($"    event {r.GetInt64(0)}  {Utc(r.GetDateTime(4))}  {r.GetString(1)}  {r.GetString(2)}: {Text(r, 3)}");
        }

        var others = 0;
        await using (var cmd = new MySqlCommand($"""
            SELECT e.id, e.merchant_trade_no, e.transaction_id, e.source, e.outcome, e.reason, e.received_at, e.reviewed_at, e.review_note
            FROM payment_events e
            WHERE {NeedsAttention} AND (e.reviewed_at IS NULL OR e.reviewed_at >= @resolvedSince)
              AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = e.transaction_id AND t.review_reason IS NOT NULL
                              AND (t.reviewed_at IS NULL OR t.reviewed_at >= @resolvedSince))
            ORDER BY e.reviewed_at IS NULL, e.id
            """, connection))
        {
            cmd.Parameters.AddWithValue("@resolvedSince", resolvedSince is { } since ? since : DBNull.Value);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                if (others++ == 0) output.WriteLine("results that need attention:");
                var transaction = r.IsDBNull(2) ? "no such transaction" : $"transaction {r.GetInt64(2)}";
                var resolved = r.IsDBNull(7) ? "" : $"  resolved {Utc(r.GetDateTime(7))}: {Text(r, 8)}";
                if (r.IsDBNull(7)) open++;
                output.WriteLine($"  event {r.GetInt64(0)}  {Utc(r.GetDateTime(6))}  {Text(r, 1)} ({transaction})  {r.GetString(3)}  {r.GetString(4)}: {Text(r, 5)}{resolved}");
            }
        }

        output.WriteLine(open == 0
            ? "nothing to review"
            : $"{open} open: resolve each with ecpay-events db review resolve --transaction ID|--event ID --note TEXT");
        return open;
    }

    /// <summary>
    /// Closes an open review with a note. False when there is none: an unknown id, a transaction not flagged, an
    /// event that needs no attention, or one under a flagged transaction (resolve the transaction), or already resolved.
    /// </summary>
    public static async Task<bool> ResolveAsync(string connectionString, long? transactionId, long? eventId, string note)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        int changed;
        if (transactionId is { } t)
        {
            // Not a payment outcome: status, amounts and updated_at (the polled ETag) stay as they are.
            changed = await ExecuteAsync(connection, tx, $"""
                UPDATE transactions t SET t.reviewed_at = UTC_TIMESTAMP(6), t.review_note = @note, t.updated_at = t.updated_at
                WHERE t.id = @id AND {OpenFlag}
                """, t, note);
            // Its events were listed under it: resolved with it.
            if (changed > 0)
                await ExecuteAsync(connection, tx, "UPDATE payment_events SET reviewed_at = UTC_TIMESTAMP(6), review_note = @note WHERE transaction_id = @id AND reviewed_at IS NULL", t, note);
        }
        else
        {
            changed = await ExecuteAsync(connection, tx, $"""
                UPDATE payment_events e SET e.reviewed_at = UTC_TIMESTAMP(6), e.review_note = @note
                WHERE e.id = @id AND {NeedsAttention} AND e.reviewed_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = e.transaction_id AND {OpenFlag})
                """, eventId!.Value, note);
        }
        await tx.CommitAsync();
        return changed > 0;
    }

    private static async Task<int> ExecuteAsync(MySqlConnection connection, MySqlTransaction tx, string sql, long id, string note)
    {
        await using var cmd = new MySqlCommand(sql, connection, tx);
        cmd.Parameters.AddWithValue("@id", id);
        cmd.Parameters.AddWithValue("@note", note);
        return await cmd.ExecuteNonQueryAsync();
    }

    private static string Text(MySqlDataReader r, int i) => r.IsDBNull(i) ? "-" : r.GetString(i);

    private static string Utc(DateTime value) => value.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";
}
