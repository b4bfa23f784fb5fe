using System.Text.Json.Serialization;
using Dapper;
using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.Payments.Users;

public sealed record UserPage(
    [property: JsonPropertyName("items")] IReadOnlyList<UserView> Items,
    [property: JsonPropertyName("nextCursor")] string? NextCursor);

/// <summary>
/// Every user, newest first, for operators only (GET /users): keyset pages with the same opaque cursor
/// and limits as a user's transactions. Null for anyone else.
/// </summary>
public sealed class ListUsers(PaymentsDatabase database)
{
    public async Task<UserPage?> HandleAsync(Caller caller, int limit, long? beforeId, CancellationToken ct)
    {
        if (!caller.IsOperator) return null;
        await using var connection = await database.OpenAsync(ct);
        var take = limit + 1;
        var rows = (await connection.QueryAsync<GetUser.UserRow>(
            "SELECT id AS Id, username AS Username, email AS Email, balance AS Balance, created_at AS CreatedAt FROM users WHERE (@beforeId IS NULL OR id < @beforeId) ORDER BY id DESC LIMIT @take",
            new { beforeId, take })).ToList();
        var items = rows.Take(limit).Select(r => r.ToView()).ToList();
        return new UserPage(items, rows.Count > limit ? ListUserTransactions.EncodeCursor(items[^1].Id) : null);
    }
}
