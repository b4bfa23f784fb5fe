using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EcpayEvents.Cli.Cognito;

/// <summary>Where the local identity provider runs: <c>.local/run/cognito.json</c>, written by infrastructure/local/cognito-server.mjs.</summary>
public sealed record CognitoSettings(Uri Endpoint, string Region, string UserPoolId, string ClientId, string Issuer)
{
    public static CognitoSettings Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        string Text(string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
            ? s : throw new InvalidOperationException($"cognito settings: \"{name}\" is missing");
        return new CognitoSettings(new Uri(Text("endpoint")), Text("region"), Text("userPoolId"), Text("clientId"), Text("issuer"));
    }

    public static CognitoSettings Load(string path) =>
        File.Exists(path) ? Parse(File.ReadAllText(path)) : throw new InvalidOperationException($"{path} not found (is the stack running? ./run.sh)");
}

/// <summary>The tokens of one sign-in (InitiateAuth).</summary>
public sealed record CognitoTokens(string AccessToken, string IdToken, string? RefreshToken, int ExpiresInSeconds);

/// <summary>A Cognito API error: its type (e.g. NotAuthorizedException, UsernameExistsException) and message.</summary>
public sealed class CognitoException(string type, string message) : Exception($"{type}: {message}")
{
    public string Type { get; } = type;
}

/// <summary>
/// The few Cognito user-pool calls the demo and the tests need, as Cognito's JSON protocol over HTTP
/// (X-Amz-Target AWSCognitoIdentityProviderService.X). The Admin* calls need AWS credentials against real
/// Cognito; they are sent unsigned, which only the local identity provider accepts.
/// </summary>
public sealed class CognitoClient(HttpClient http, Uri endpoint)
{
    public async Task<string> SignUpAsync(string clientId, string email, string password, CancellationToken ct = default)
    {
        var answer = await CallAsync("SignUp", new JsonObject
        {
            ["ClientId"] = clientId,
            ["Username"] = email,
            ["Password"] = password,
            ["UserAttributes"] = new JsonArray(new JsonObject { ["Name"] = "email", ["Value"] = email }),
        }, ct);
        return answer["UserSub"]?.GetValue<string>() ?? throw new CognitoException("InvalidResponse", "SignUp answered without UserSub");
    }

    public Task AdminConfirmSignUpAsync(string userPoolId, string username, CancellationToken ct = default) =>
        CallAsync("AdminConfirmSignUp", new JsonObject { ["UserPoolId"] = userPoolId, ["Username"] = username }, ct);

    public Task AdminAddUserToGroupAsync(string userPoolId, string username, string group, CancellationToken ct = default) =>
        CallAsync("AdminAddUserToGroup", new JsonObject { ["UserPoolId"] = userPoolId, ["Username"] = username, ["GroupName"] = group }, ct);

    public Task<CognitoTokens> SignInAsync(string clientId, string email, string password, CancellationToken ct = default) =>
        InitiateAuthAsync(clientId, "USER_PASSWORD_AUTH", new JsonObject { ["USERNAME"] = email, ["PASSWORD"] = password }, ct);

    public Task<CognitoTokens> RefreshAsync(string clientId, string refreshToken, CancellationToken ct = default) =>
        InitiateAuthAsync(clientId, "REFRESH_TOKEN_AUTH", new JsonObject { ["REFRESH_TOKEN"] = refreshToken }, ct);

    private async Task<CognitoTokens> InitiateAuthAsync(string clientId, string flow, JsonObject parameters, CancellationToken ct)
    {
        var answer = await CallAsync("InitiateAuth", new JsonObject { ["ClientId"] = clientId, ["AuthFlow"] = flow, ["AuthParameters"] = parameters }, ct);
        if (answer["AuthenticationResult"] is not JsonObject result)
            throw new CognitoException("ChallengeNotSupported", $"InitiateAuth asked for {answer["ChallengeName"]}");
        return new CognitoTokens(
            result["AccessToken"]!.GetValue<string>(), result["IdToken"]!.GetValue<string>(),
            result["RefreshToken"]?.GetValue<string>(), result["ExpiresIn"]?.GetValue<int>() ?? 0);
    }

    private async Task<JsonNode> CallAsync(string action, JsonObject body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        request.Headers.Add("X-Amz-Target", $"AWSCognitoIdentityProviderService.{action}");
        request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonNode? json = null;
        try { json = JsonNode.Parse(text); } catch (JsonException) { }
        if (!response.IsSuccessStatusCode)
        {
            // Cognito's error type may carry a namespace prefix ("com.amazon...#NotAuthorizedException").
            var type = json?["__type"]?.GetValue<string>() ?? $"HTTP {(int)response.StatusCode}";
            throw new CognitoException(type[(type.LastIndexOf('#') + 1)..], json?["message"]?.GetValue<string>() ?? json?["Message"]?.GetValue<string>() ?? "");
        }
        return json ?? new JsonObject();
    }
}
