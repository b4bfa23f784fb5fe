using System.Globalization;
using EcpayEvents.Cli.Timers;
using EcpayEvents.Payments.Settlement;
using MySqlConnector;

namespace EcpayEvents.Cli.Operations;

/// <summary>
/// `payments stuck`: the payments that need an operator, one row per payment and problem — pending past their expiry,
/// pending without a running timeout (its execution failed, timed out, was stopped, or never started), credited after
/// expiry and not yet reviewed, and rejected posts of the last hours.
/// </summary>
public static class StuckPayments
{
    /// <summary>One problem with one payment (or, for a rejected post of an unknown order, with a MerchantTradeNo only).</summary>
    public sealed record Problem(string Kind, string MerchantTradeNo, long? TransactionId, string Detail);

    /// <summary>How long past expiry a pending deposit may stay while its timeout asks ECPay.</summary>
    public static readonly TimeSpan ExpiryGrace = TimeSpan.FromMinutes(5);

    public static async Task<IReadOnlyList<Problem>> FindAsync(MySqlConnection connection, PaymentTimers? timers, TimeSpan rejectedWithin, DateTimeOffset now, CancellationToken ct)
    {
        var problems = new List<Problem>();
        await using (var cmd = new MySqlCommand("""
            SELECT id, merchant_trade_no, expires_at FROM transactions
            WHERE type = 'deposit' AND status = 'pending' AND expires_at < @cutoff ORDER BY expires_at, id
            """, connection))
        {
            cmd.Parameters.AddWithValue("@cutoff", (now - ExpiryGrace).UtcDateTime);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
                problems.Add(new Problem("pending-past-expiry", r.IsDBNull(1) ? "-" : r.GetString(1), r.GetInt64(0),
                    string.Create(CultureInfo.InvariantCulture, $"expired {r.GetDateTime(2):yyyy-MM-dd HH:mm:ss} UTC, still pending")));
        }
        if (timers is not null)
        {
            var (_, orphaned) = await timers.AuditAsync();
            foreach (var o in orphaned)
            {
                // One row per payment: its timer's state says more than "past expiry", which it then carries.
                var expired = problems.FindIndex(p => p.TransactionId == o.Payment.TransactionId);
                var detail = expired >= 0 ? $"{o.Describe()}; {problems[expired].Detail}" : o.Describe();
                if (expired >= 0) problems.RemoveAt(expired);
                problems.Add(new Problem(o.Latest is null ? "execution-missing" : "execution-" + o.Latest.Status.ToLowerInvariant(),
                    o.Payment.MerchantTradeNo, o.Payment.TransactionId, detail));
            }
        }
        await using (var cmd = new MySqlCommand("""
            SELECT id, merchant_trade_no, review_reason FROM transactions
            WHERE status = 'completed' AND review_reason IS NOT NULL AND reviewed_at IS NULL ORDER BY updated_at, id
            """, connection))
        {
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
                problems.Add(new Problem("credited-flagged", r.IsDBNull(1) ? "-" : r.GetString(1), r.GetInt64(0), r.GetString(2)));
        }
        await using (var cmd = new MySqlCommand($"""
            SELECT id, merchant_trade_no, transaction_id, source, reason FROM payment_events
            WHERE outcome = '{SettlementOutcome.Rejected}' AND recorded_at >= @since ORDER BY recorded_at, id
            """, connection))
        {
            cmd.Parameters.AddWithValue("@since", (now - rejectedWithin).UtcDateTime);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
                problems.Add(new Problem("rejected-post", r.IsDBNull(1) ? "-" : r.GetString(1), r.IsDBNull(2) ? null : r.GetInt64(2),
                    string.Create(CultureInfo.InvariantCulture, $"event {r.GetInt64(0)}: {r.GetString(3)} rejected: {(r.IsDBNull(4) ? "" : r.GetString(4))}")));
        }
        return problems;
    }
}
