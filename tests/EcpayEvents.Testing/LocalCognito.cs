using System.Diagnostics;
using EcpayEvents.Cli.Cognito;

namespace EcpayEvents.Testing;

/// <summary>A user signed up, confirmed and signed in on the local identity provider.</summary>
public sealed record CognitoUser(string Email, string Password, string Sub, CognitoTokens Tokens)
{
    public string AccessToken => Tokens.AccessToken;
}

/// <summary>
/// The real local identity provider (cognito-local via infrastructure/local/cognito-server.mjs on Node 22)
/// on a free loopback port with a throw-away data folder: one per test process (every test signs up
/// its own users, so they never meet). It exits with the test process (stdin pipe).
/// </summary>
public sealed class LocalCognito
{
    private static readonly Lazy<Task<LocalCognito>> shared = new(StartAsync);
    private static readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private LocalCognito(CognitoSettings settings, string settingsPath)
    {
        Settings = settings;
        SettingsPath = settingsPath;
        Client = new CognitoClient(http, settings.Endpoint);
    }

    public CognitoSettings Settings { get; }

    /// <summary>Its cognito.json (as run.sh writes .local/run/cognito.json), e.g. for `ecpay-events demo --cognito`.</summary>
    public string SettingsPath { get; }
    public CognitoClient Client { get; }

    /// <summary>The private key cognito-local signs with (published in its npm package), as a JWK — for tests that mint tokens.</summary>
    public static string PrivateKeyJson => File.ReadAllText(Path.Combine(RepoPaths.LocalStack, "node_modules", "cognito-local", "lib", "keys", "cognitoLocal.private.json"));

    public static Task<LocalCognito> SharedAsync() => shared.Value;

    /// <summary>The settings a PaymentsApi host needs to trust this provider.</summary>
    public string[] PaymentsApiArgs =>
    [
        $"--PaymentsApi:Cognito:Issuer={Settings.Issuer}",
        $"--PaymentsApi:Cognito:ClientId={Settings.ClientId}",
        $"--PaymentsApi:Cognito:Endpoint={Settings.Endpoint}",
        $"--PaymentsApi:Cognito:UserPoolId={Settings.UserPoolId}",
        "--PaymentsApi:Cognito:LocalConfirm=true",
    ];

    /// <summary>Signs up a new user (a unique email), confirms it as an administrator would, optionally puts it in a group, and signs it in.</summary>
    public async Task<CognitoUser> CreateUserAsync(string name = "user", string? group = null, CancellationToken ct = default)
    {
        var email = $"{name}-{Guid.NewGuid():N}@example.com";
        const string password = "Correct-horse-42";
        var sub = await Client.SignUpAsync(Settings.ClientId, email, password, ct);
        await Client.AdminConfirmSignUpAsync(Settings.UserPoolId, email, ct);
        if (group is not null) await Client.AdminAddUserToGroupAsync(Settings.UserPoolId, email, group, ct);
        var tokens = await Client.SignInAsync(Settings.ClientId, email, password, ct);
        return new CognitoUser(email, password, sub, tokens);
    }

    private static async Task<LocalCognito> StartAsync()
    {
        RepoPaths.EnsureNpmPackages();
        var data = Directory.CreateTempSubdirectory("ecpay-cognito-");
        var psi = new ProcessStartInfo(RepoPaths.Node)
        {
            WorkingDirectory = RepoPaths.LocalStack,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // the server exits when this pipe closes (the test process ended)
        };
        foreach (var a in new[] { "--no-warnings", "cognito-server.mjs", "--port", FreePort.Next().ToString(), "--data", data.FullName, "--write", Path.Combine(data.FullName, "cognito.json"), "--exit-with-stdin" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var stderr = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null || !line.Contains("\"ready\":true"))
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            throw new InvalidOperationException($"cognito-local did not start: {line} {stderr}");
        }
        // Keep reading stdout so the pipe never fills; the process lives as long as the test process.
        _ = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { p.Kill(true); } catch (InvalidOperationException) { } };
        return new LocalCognito(CognitoSettings.Parse(line), Path.Combine(data.FullName, "cognito.json"));
    }
}
