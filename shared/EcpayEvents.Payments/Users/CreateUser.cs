using System.Text.Json.Serialization;
using Dapper;

namespace EcpayEvents.Payments.Users;

public sealed record CreateUserRequest(
    [property: JsonPropertyName("username")] string? Username,
    [property: JsonPropertyName("email")] string? Email);

/// <summary>What the creator of a user sees (the only answer that carries the full email).</summary>
public sealed record CreatedUser(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("email")] string Email,
    [property: JsonPropertyName("balance")] long Balance,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt);

/// <summary>Creates a user with a zero balance.</summary>
public sealed class CreateUser(PaymentsDatabase database, TimeProvider time)
{
    public const int MaxUsernameLength = 64;
    public const int MaxEmailLength = 254;

    public static Dictionary<string, string[]> Validate(CreateUserRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        var username = request.Username?.Trim();
        if (string.IsNullOrEmpty(username))
            errors["username"] = ["is required."];
        else if (username.Length is < 3 or > MaxUsernameLength || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            errors["username"] = [$"must be 3–{MaxUsernameLength} ASCII letters, digits, '_', '-' or '.'."];

        var email = request.Email?.Trim();
        if (string.IsNullOrEmpty(email))
            errors["email"] = ["is required."];
        else if (!IsEmail(email))
            errors["email"] = [$"must be an email address (at most {MaxEmailLength} characters)."];
        return errors;
    }

    // Deliberately plain: one '@', a non-empty local part, a dotted domain, no spaces or control characters.
    private static bool IsEmail(string email)
    {
        if (email.Length > MaxEmailLength || email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or '"' or ',' or ';'))
            return false;
        var at = email.IndexOf('@');
        if (at <= 0 || at != email.LastIndexOf('@') || at > 64) return false;
        var domain = email[(at + 1)..];
        return domain.Length >= 3 && domain.Contains('.') && !domain.StartsWith('.') && !domain.EndsWith('.') && !domain.Contains("..");
    }

    /// <summary>Call <see cref="Validate"/> first.</summary>
    public async Task<CreatedUser> HandleAsync(CreateUserRequest request, CancellationToken ct)
    {
        var username = request.Username!.Trim();
        var email = request.Email!.Trim();
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(ct);
        var id = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO users (username, email, balance, created_at) VALUES (@username, @email, 0, @createdAt); SELECT LAST_INSERT_ID();",
            new { username, email, createdAt = now.UtcDateTime });
        return new CreatedUser(id, username, email, 0, DbTime.Microseconds(now));
    }
}
