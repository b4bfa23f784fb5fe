using EcpayEvents.Testing;
using Microsoft.Playwright;

namespace EcpayEvents.EndToEnd.Tests;

/// <summary>
/// Debian's Chromium (installed by the project's scripts) driven by Playwright with the project's Node 22,
/// headless and without background networking (this machine's network is closed).
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    /// <summary>Where the tests keep their screenshots (git-ignored test artifacts).</summary>
    public static string Screenshots { get; } = Directory.CreateDirectory(Path.Combine(RepoPaths.Root, "TestResults", "EndToEnd")).FullName;

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private Chromium(IPlaywright playwright, IBrowser browser) => (_playwright, _browser) = (playwright, browser);

    public static async Task<Chromium> LaunchAsync()
    {
        // The Playwright package ships its driver without Node; the project's own Node 22 runs it.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_NODEJS_PATH", RepoPaths.Node);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = "/usr/bin/chromium",
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            return new Chromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A new page whose waits give up after 30 s (a loaded 2-core machine is slow, not stuck).</summary>
    public async Task<IPage> NewPageAsync()
    {
        var page = await _browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
