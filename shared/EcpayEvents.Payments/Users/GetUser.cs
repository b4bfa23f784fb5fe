using System.Text.Json.Serialization;
using Dapper;

namespace EcpayEvents.Payments.Users;

/// <summary>
/// A user as their owner (or an operator) sees it. The email stays masked: this shape is also what
/// operators list, and the full address is only in the creation answer.
/// </summary>
public sealed record UserView(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("email")] string MaskedEmail,
    [property: JsonPropertyName("balance")] long Balance,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt);

/// <summary>One user, for its owner or an operator; anyone else gets null, exactly as for a missing id.</summary>
public sealed class GetUser(PaymentsDatabase database)
{
    private const string Select = "SELECT id AS Id, username AS Username, email AS Email, balance AS Balance, created_at AS CreatedAt FROM users";

    public async Task<UserView?> HandleAsync(Caller caller, long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<UserRow>(
            Select + " WHERE id = @id AND (@isOperator OR sub = @sub)", new { id, isOperator = caller.IsOperator, sub = caller.Sub });
        return row?.ToView();
    }

    /// <summary>The caller's own user (GET /me); null until they created it (POST /users).</summary>
    public async Task<UserView?> MeAsync(Caller caller, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<UserRow>(Select + " WHERE sub = @sub", new { sub = caller.Sub });
        return row?.ToView();
    }

    /// <summary>True when the user exists and belongs to the caller (operators own no one else's).</summary>
    internal static async Task<bool> OwnsAsync(MySqlConnector.MySqlConnection connection, Caller caller, long userId) =>
        await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE id = @userId AND sub = @sub", new { userId, sub = caller.Sub }) == 1;

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

        public UserView ToView() => new(Id, Username, MaskEmail(Email), Balance, DbTime.Utc(CreatedAt));
    }
}
