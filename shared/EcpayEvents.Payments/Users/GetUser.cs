using System.Text.Json.Serialization;
using Dapper;

namespace EcpayEvents.Payments.Users;

/// <summary>
/// A user as anyone who knows the id sees it. There is no authentication yet, so the email is masked:
/// ids are guessable and no answer may leak another user's address.
/// </summary>
public sealed record UserView(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("email")] string MaskedEmail,
    [property: JsonPropertyName("balance")] long Balance,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt);

public sealed class GetUser(PaymentsDatabase database)
{
    public async Task<UserView?> HandleAsync(long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<UserRow>(
            "SELECT id AS Id, username AS Username, email AS Email, balance AS Balance, created_at AS CreatedAt FROM users WHERE id = @id",
            new { id });
        return row is null ? null : new UserView(row.Id, row.Username, MaskEmail(row.Email), row.Balance, DbTime.Utc(row.CreatedAt));
    }

    /// <summary><c>alice@example.com</c> → <c>a***@example.com</c>.</summary>
    public static string MaskEmail(string email)
    {
        var at = email.IndexOf('@');
        return at <= 0 ? "***" : email[0] + "***" + email[at..];
    }

    internal sealed class UserRow
    {
        public long Id { get; set; }
        public string Username { get; set; } = "";
        public string Email { get; set; } = "";
        public long Balance { get; set; }
        public DateTime CreatedAt { get; set; }
    }
}
