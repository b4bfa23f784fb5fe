using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Dapper;
using EcpayEvents.Payments.Users;

namespace EcpayEvents.Payments.Transactions;

public sealed record TransactionPage(
    [property: JsonPropertyName("items")] IReadOnlyList<TransactionView> Items,
    [property: JsonPropertyName("nextCursor")] string? NextCursor);

/// <summary>
/// A user's transactions, newest first, by keyset pagination: the cursor is an opaque token for
/// "ids below this one", so pages stay stable while new transactions arrive.
/// </summary>
public sealed class ListUserTransactions(PaymentsDatabase database)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    /// <summary>Parses ?limit= and ?cursor=; errors name the query parameter.</summary>
    public static Dictionary<string, string[]> TryParse(string? limitText, string? cursorText, out int limit, out long? beforeId)
    {
        var errors = new Dictionary<string, string[]>();
        limit = DefaultLimit;
        beforeId = null;
        if (!string.IsNullOrEmpty(limitText))
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit)
                errors["limit"] = [$"must be a whole number from 1 to {MaxLimit}."];
        }
        if (!string.IsNullOrEmpty(cursorText))
        {
            if (DecodeCursor(cursorText) is { } id) beforeId = id;
            else errors["cursor"] = ["is not a cursor this API returned."];
        }
        return errors;
    }

    public static string EncodeCursor(long beforeId) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes("t" + beforeId.ToString(CultureInfo.InvariantCulture))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static long? DecodeCursor(string cursor)
    {
        if (cursor.Length > 32 || !cursor.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return null;
        var b64 = cursor.Replace('-', '+').Replace('_', '/');
        b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
        try
        {
            var text = Encoding.ASCII.GetString(Convert.FromBase64String(b64));
            return text.StartsWith('t') && long.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Null when the user does not exist or is not the caller's (operators read anyone's).</summary>
    public async Task<TransactionPage?> HandleAsync(Caller caller, long userId, int limit, long? beforeId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var exists = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM users WHERE id = @userId AND (@isOperator OR sub = @sub)", new { userId, isOperator = caller.IsOperator, sub = caller.Sub });
        if (exists == 0) return null;
        var take = limit + 1;
        var rows = (await connection.QueryAsync<TransactionRow>(
            GetTransaction.SelectColumns + " WHERE user_id = @userId AND (@beforeId IS NULL OR id < @beforeId) ORDER BY id DESC LIMIT @take",
            new { userId, beforeId, take })).ToList();
        var items = rows.Take(limit).Select(r => r.ToView()).ToList();
        return new TransactionPage(items, rows.Count > limit ? EncodeCursor(items[^1].Id) : null);
    }
}
