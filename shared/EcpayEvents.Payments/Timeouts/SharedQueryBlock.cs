using Dapper;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Timeouts;

/// <summary>
/// ECPay's 403 block on QueryTradeInfo, shared by every Timeouts instance through the database (table
/// <c>ecpay_query_block</c>, migration V10): 查詢訂單 (developers.ecpay.com.tw/?p=2890) answers HTTP 403 when called
/// too fast and asks the merchant to wait 30 minutes. On Lambda each instance has its own memory, so a block known
/// only in-process would let the others keep calling (and prolong it). While the block runs no instance calls ECPay:
/// they answer <see cref="QueryTradeInfoResult.Throttled"/> without a request, and the state machine retries later.
/// </summary>
public sealed class SharedQueryBlock(PaymentsDatabase database, TimeProvider time, TimeSpan coolDown)
{
    /// <summary><paramref name="ask"/>, but not while a block runs; a 403 it gets starts (or extends) the block for everyone.</summary>
    public QueryTradeInfo Around(QueryTradeInfo ask) => async (merchantTradeNo, ct) =>
    {
        if (coolDown > TimeSpan.Zero && await CurrentAsync(ct) is { } block)
            return new QueryTradeInfoResult.Throttled(block.Answer) { CoolDownUntil = block.Until, WithoutRequest = true };
        var result = await ask(merchantTradeNo, ct);
        if (coolDown > TimeSpan.Zero && result is QueryTradeInfoResult.Throttled { WithoutRequest: false } throttled)
            await StartAsync(time.GetUtcNow() + coolDown, throttled.Body, ct);
        return result;
    };

    /// <summary>The block running now, or null.</summary>
    public async Task<(DateTimeOffset Until, string Answer)?> CurrentAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(
            "SELECT blocked_until AS BlockedUntil, answer AS Answer FROM ecpay_query_block WHERE id = 1");
        if (row is null) return null;
        var until = new DateTimeOffset(DateTime.SpecifyKind(row.BlockedUntil, DateTimeKind.Utc));
        return until > time.GetUtcNow() ? (until, row.Answer) : null;
    }

    /// <summary>Starts the block, or extends it — never shortens one another instance started.</summary>
    public async Task StartAsync(DateTimeOffset until, string answer, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync("""
            INSERT INTO ecpay_query_block (id, blocked_until, answer, started_at) VALUES (1, @until, @answer, UTC_TIMESTAMP(6))
            ON DUPLICATE KEY UPDATE
              answer = IF(VALUES(blocked_until) > blocked_until, VALUES(answer), answer),
              started_at = IF(VALUES(blocked_until) > blocked_until, VALUES(started_at), started_at),
              blocked_until = GREATEST(blocked_until, VALUES(blocked_until))
            """, new { until = until.UtcDateTime, answer = answer.Length <= 200 ? answer : answer[..200] });
    }

    // Not private: Dapper.AOT generates its row reader outside this class.
    internal sealed class Row
    {
        public DateTime BlockedUntil { get; set; }
        public string Answer { get; set; } = "";
    }
}
