using System.Text.Json;

namespace EcpayEvents.Ecpay.Tests;

/// <summary>
/// Directory.Build.props decides by where a project lives in the repository (shared/ → AOT-compatible library,
/// services/ → Native AOT app), not by what the absolute path contains: a clone under /srv/shared/… once made
/// every project (tests, CLI) a "shared library".
/// </summary>
public sealed class BuildPropsTests
{
    [Fact]
    public async Task ProjectKindsComeFromTheRepositoryLayoutEvenInACloneUnderAFolderNamedSharedOrServices()
    {
        var root = Directory.CreateTempSubdirectory("ecpay-props-");
        try
        {
            // <tmp>/services/shared/repo: both names appear above the repository.
            var repo = Directory.CreateDirectory(Path.Combine(root.FullName, "services", "shared", "repo")).FullName;
            File.Copy(Path.Combine(RepoRoot.Path, "Directory.Build.props"), Path.Combine(repo, "Directory.Build.props"));
            string Project(string folder, string name)
            {
                var dir = Directory.CreateDirectory(Path.Combine(repo, folder, name)).FullName;
                var path = Path.Combine(dir, name + ".csproj");
                File.WriteAllText(path, "<Project Sdk=\"Microsoft.NET.Sdk\" />");
                return path;
            }

            Assert.Equal(("true", ""), await PropertiesAsync(Project("shared", "Lib")));
            Assert.Equal(("true", "true"), await PropertiesAsync(Project("services", "Svc")));
            Assert.Equal(("", ""), await PropertiesAsync(Project("tests", "Lib.Tests")));
            Assert.Equal(("", ""), await PropertiesAsync(Project("infrastructure", "Tool")));
            // A folder that merely starts with the name is not shared/ either.
            Assert.Equal(("", ""), await PropertiesAsync(Project("shared-tools", "Other")));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static async Task<(string IsAotCompatible, string PublishAot)> PropertiesAsync(string project)
    {
        var run = await RepoRoot.RunAsync("dotnet", ["msbuild", project, "-getProperty:IsAotCompatible", "-getProperty:PublishAot"],
            env: new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" }, timeout: TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, $"dotnet msbuild {project}: {run.Stdout}{run.Stderr}");
        using var json = JsonDocument.Parse(run.Stdout);
        var properties = json.RootElement.GetProperty("Properties");
        return (properties.GetProperty("IsAotCompatible").GetString()!, properties.GetProperty("PublishAot").GetString()!);
    }
}
