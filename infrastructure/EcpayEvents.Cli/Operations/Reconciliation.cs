using System.Globalization;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using EcpayEvents.Payments.Settlement;
using MySqlConnector;

namespace EcpayEvents.Cli.Operations;

/// <summary>
/// `reconcile`: our closed deposits (completed, failed, expired) of a period against ECPay's QueryTradeInfo, one query
/// at a time with a pause between them, stopping at ECPay's first 403 ("too frequent": it blocks for about 30 minutes
/// and more queries would prolong it). A payment ECPay has as paid that we did not credit is fixed only by enqueueing
/// ECPay's signed answer onto payment-results, exactly as the Timeouts service does: Settlement applies it under its
/// rules (a late credit, flagged for review) and records it once — never a balance written here.
/// </summary>
public sealed class Reconciliation(QueryTradeInfoClient ecpay, PaymentResultPublisher? publisher, TimeProvider time)
{
    /// <summary>A deposit of the period as we have it.</summary>
    public sealed record Ours(long Id, string MerchantTradeNo, long Amount, string Status, string? EcpayTradeNo, DateTimeOffset CreatedAt);

    /// <summary>What comparing one deposit found. <see cref="Fix"/> is null when the books agree.</summary>
    public sealed record Finding(Ours Deposit, string Ecpay, string? Mismatch, string? Fix, bool Enqueued);

    /// <summary>The findings, and why it stopped early (a 403), if it did.</summary>
    public sealed record Report(IReadOnlyList<Finding> Findings, int NotAsked, string? StoppedBecause);

    public static async Task<IReadOnlyList<Ours>> LoadAsync(MySqlConnection connection, DateTime from, DateTime toInclusive, CancellationToken ct)
    {
        await using var cmd = new MySqlCommand("""
            SELECT id, merchant_trade_no, amount, status, ecpay_trade_no, created_at FROM transactions
            WHERE type = 'deposit' AND status IN ('completed', 'failed', 'expired') AND merchant_trade_no IS NOT NULL
              AND created_at >= @from AND created_at < @to
            ORDER BY created_at, id
            """, connection);
        cmd.Parameters.AddWithValue("@from", from);
        cmd.Parameters.AddWithValue("@to", toInclusive.AddDays(1));
        var deposits = new List<Ours>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            deposits.Add(new Ours(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
                new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(5), DateTimeKind.Utc))));
        return deposits;
    }

    /// <param name="apply">Enqueue ECPay's paid answer for each deposit we did not credit.</param>
    public async Task<Report> RunAsync(IReadOnlyList<Ours> deposits, bool apply, TimeSpan interval, CancellationToken ct)
    {
        var findings = new List<Finding>();
        for (var i = 0; i < deposits.Count; i++)
        {
            if (i > 0 && interval > TimeSpan.Zero) await Task.Delay(interval, time, ct);
            var deposit = deposits[i];
            var answer = await ecpay.QueryAsync(deposit.MerchantTradeNo, ct);
            if (answer is QueryTradeInfoResult.Throttled throttled)
            {
                var until = throttled.CoolDownUntil is { } u ? $"; ECPay blocks queries until about {u.UtcDateTime:yyyy-MM-dd HH:mm} UTC" : "";
                return new Report(findings, deposits.Count - i, $"ECPay answered 403 (too many queries){until}: run again later for the rest");
            }
            findings.Add(await CompareAsync(deposit, answer, apply, ct));
        }
        return new Report(findings, 0, null);
    }

    private async Task<Finding> CompareAsync(Ours deposit, QueryTradeInfoResult answer, bool apply, CancellationToken ct)
    {
        var said = PaymentStory.DescribeAnswer(answer);
        if (answer is not QueryTradeInfoResult.Answered { Trade: var trade })
            return new Finding(deposit, said, "ECPay could not be asked", "run again later", false);
        var paid = trade.Status == TradeStatus.Paid;
        var show = $"ecpay-events payment show {deposit.MerchantTradeNo}";
        switch (deposit.Status)
        {
            case "completed" when paid && trade.TradeAmt == deposit.Amount && (deposit.EcpayTradeNo is null || deposit.EcpayTradeNo == trade.TradeNo):
                return new Finding(deposit, said, null, null, false);
            case "completed" when paid:
                return new Finding(deposit, said, $"ECPay says paid {trade.TradeAmt} TWD, TradeNo {trade.TradeNo}; we credited {deposit.Amount} TWD, TradeNo {deposit.EcpayTradeNo}",
                    $"check the payment in ECPay's back office ({show}); the credit stays until an operator decides", false);
            case "completed":
                return new Finding(deposit, said, $"we credited {deposit.Amount} TWD, ECPay says it is not paid",
                    $"check the payment in ECPay's back office before the money is used ({show}); the credit stays until an operator decides", false);
            case "expired" or "failed" when paid:
                if (!apply)
                    return new Finding(deposit, said, $"ECPay says paid {trade.TradeAmt} TWD; we have it {deposit.Status}, not credited",
                        "reconcile --apply: enqueues ECPay's answer, and Settlement credits it (late, flagged for review)", false);
                var message = new PaymentResultMessage(PaymentResultSource.QueryTradeInfo,
                    // The verified fields exactly as ECPay sent them (CheckMacValue included): Settlement verifies again.
                    trade.Fields.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal), time.GetUtcNow());
                await publisher!.PublishAsync(message, ct);
                return new Finding(deposit, said, $"ECPay says paid {trade.TradeAmt} TWD; we have it {deposit.Status}, not credited",
                    $"enqueued ECPay's answer: Settlement credits it (late, flagged for review); then {show}", true);
            default:
                return new Finding(deposit, said, null, null, false);
        }
    }

    public static bool TryParseDate(string text, out DateTime date) =>
        DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out date);
}
