using System.Globalization;
using System.Text.Json;
using MySqlConnector;

namespace EcpayEvents.Cli.Operations;

/// <summary>What the database knows about one deposit: its row, every recorded ECPay result, its ledger entry and its user's balance.</summary>
public sealed record PaymentRecord(
    long Id, long UserId, string Type, long Amount, string Status, string? MerchantTradeNo, string? PaymentMethod,
    string? EcpayTradeNo, string? PaymentType, DateTimeOffset? ExpiresAt, DateTimeOffset? PaidAt, string? ReviewReason,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? CheckoutStartedAt, DateTimeOffset? ReviewedAt,
    string? ReviewNote, DateTimeOffset? ConfirmedAt, string? BankCode, string? VAccount, string? PaymentNo,
    IReadOnlyList<PaymentRecord.Event> Events, PaymentRecord.Credit? Ledger)
{
    /// <summary>One row of payment_events, with the ECPay fields an operator reads.</summary>
    public sealed record Event(long Id, string Source, DateTimeOffset ReceivedAt, DateTimeOffset RecordedAt, string Outcome, string? Reason, IReadOnlyDictionary<string, string> Fields)
    {
        public string? Field(string name) => Fields.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
    }

    /// <summary>The deposit's ledger entry.</summary>
    public sealed record Credit(long Id, long Amount, DateTimeOffset At);

    public bool IsReviewOpen => ReviewReason is not null && ReviewedAt is null;

    /// <summary>By MerchantTradeNo, or by transaction id when the key is all digits and no MerchantTradeNo matches.</summary>
    public static async Task<PaymentRecord?> LoadAsync(MySqlConnection connection, string key, CancellationToken ct)
    {
        await using var cmd = new MySqlCommand("""
            SELECT id, user_id, type, amount, status, merchant_trade_no, payment_method, ecpay_trade_no, payment_type, expires_at, paid_at,
                   review_reason, created_at, updated_at, checkout_started_at, reviewed_at, review_note, confirmed_at, bank_code, v_account, payment_no
            FROM transactions WHERE merchant_trade_no = @key OR (@id IS NOT NULL AND id = @id)
            ORDER BY merchant_trade_no = @key DESC LIMIT 1
            """, connection);
        cmd.Parameters.AddWithValue("@key", key);
        cmd.Parameters.AddWithValue("@id", long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : DBNull.Value);
        PaymentRecord? row;
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await r.ReadAsync(ct)) return null;
            row = new PaymentRecord(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), r.GetString(4), Text(r, 5), Text(r, 6), Text(r, 7), Text(r, 8),
                Time(r, 9), Time(r, 10), Text(r, 11), Time(r, 12)!.Value, Time(r, 13)!.Value, Time(r, 14), Time(r, 15), Text(r, 16), Time(r, 17),
                Text(r, 18), Text(r, 19), Text(r, 20), [], null);
        }
        return row with { Events = await EventsAsync(connection, row.Id, row.MerchantTradeNo, ct), Ledger = await LedgerAsync(connection, row.Id, ct) };
    }

    private static async Task<IReadOnlyList<Event>> EventsAsync(MySqlConnection connection, long transactionId, string? merchantTradeNo, CancellationToken ct)
    {
        await using var cmd = new MySqlCommand("""
            SELECT id, source, received_at, recorded_at, outcome, reason, raw_fields FROM payment_events
            WHERE transaction_id = @t OR (@m IS NOT NULL AND merchant_trade_no = @m) ORDER BY received_at, id
            """, connection);
        cmd.Parameters.AddWithValue("@t", transactionId);
        cmd.Parameters.AddWithValue("@m", (object?)merchantTradeNo ?? DBNull.Value);
        var events = new List<Event>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            events.Add(new Event(r.GetInt64(0), r.GetString(1), Time(r, 2)!.Value, Time(r, 3)!.Value, r.GetString(4), Text(r, 5), Fields(r.GetString(6))));
        return events;
    }

    private static async Task<Credit?> LedgerAsync(MySqlConnection connection, long transactionId, CancellationToken ct)
    {
        await using var cmd = new MySqlCommand("SELECT id, amount, created_at FROM ledger_entries WHERE transaction_id = @t", connection);
        cmd.Parameters.AddWithValue("@t", transactionId);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? new Credit(r.GetInt64(0), r.GetInt64(1), Time(r, 2)!.Value) : null;
    }

    /// <summary>The stored fields (a JSON object of strings; a rejected result's are clipped, with a _truncated note).</summary>
    private static Dictionary<string, string> Fields(string json)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
                foreach (var p in doc.RootElement.EnumerateObject())
                    fields[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        }
        catch (JsonException)
        {
            // Not JSON: nothing to show but the outcome and reason.
        }
        return fields;
    }

    private static string? Text(MySqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    /// <summary>DATETIME columns hold UTC.</summary>
    private static DateTimeOffset? Time(MySqlDataReader r, int i) => r.IsDBNull(i) ? null : new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(i), DateTimeKind.Utc));
}
