# Fakes for the Web Connector generation, on top of Helpers.ps1's fake machine: the Web
# Connector's keys in user hives (read through Get-Item, as a RegistryKey whose value reads are
# recorded, so a test can prove a password was never read), .qwc files in users' Downloads,
# start-up entries (Run values, Startup-folder shortcuts) and Codat's auto-run tool. Dot-source
# after Helpers.ps1; call Set-WebConnectorFilesFakeMock after Set-FakeMachineMock. Names never contain
# 'Qbd' (a script function would shadow them).

if ($null -eq ('FakeWindows.RegistryKey' -as [type])) {
    Add-Type -Language CSharp -TypeDefinition @'
namespace FakeWindows
{
    // What Get-Item returns for a registry key (Microsoft.Win32.RegistryKey): its value names,
    // and each value's data and kind. Every GetValue call is written to the read log as
    // 'key|value', so a test can tell which data a script read.
    public class RegistryKey
    {
        private readonly string keyName;
        private readonly System.Collections.IDictionary values;
        private readonly System.Collections.IList reads;

        public RegistryKey(string name, System.Collections.IDictionary values, System.Collections.IList reads)
        {
            this.keyName = name;
            this.values = values;
            this.reads = reads;
        }

        public string Name { get { return keyName; } }

        public string[] GetValueNames()
        {
            string[] names = new string[values.Count];
            int index = 0;
            foreach (object key in values.Keys) { names[index++] = (string)key; }
            return names;
        }

        public object GetValue(string name)
        {
            reads.Add(keyName + "|" + name);
            return values.Contains(name) ? values[name] : null;
        }

        public string GetValueKind(string name)
        {
            object data = values.Contains(name) ? values[name] : null;
            if (data is int || data is uint) { return "DWord"; }
            if (data is long || data is ulong) { return "QWord"; }
            if (data is byte[]) { return "Binary"; }
            if (data is string[]) { return "MultiString"; }
            return "String";
        }

        public void Close() { }
        public void Dispose() { }
    }
}
'@
}

function Get-FakeRegistryKeyObject {
    # Get-Item on a registry path: Helpers.ps1's FakeWindows.RegistryKey (both files would name
    # the type alike, and the first one loaded wins), its reads recorded in RegistryReads.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [string] $Path)
    return Get-FakeRegistryKeyItem -Machine $Machine -Path $Path
}

function Get-FakeRegistryRead {
    # The reads recorded so far, as 'key|value' (none: an empty list).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine)
    if (-not $Machine.ContainsKey('RegistryReads')) { return @() }
    return @($Machine['RegistryReads'] | ForEach-Object { $_.Substring(0, $_.LastIndexOf('\')) + '|' + $_.Substring($_.LastIndexOf('\') + 1) })
}

function Set-WebConnectorFilesFakeMock {
    Mock -CommandName Get-Item -ParameterFilter { Test-FakeRegistryPathText -Path ([string]$PesterBoundParameters['LiteralPath']) } -MockWith {
        Get-FakeRegistryKeyObject -Machine $global:FakeMachine -Path ([string]$PesterBoundParameters['LiteralPath'])
    }
}

function Add-FakeWebConnectorSettings {
    # A user's loaded hive with the Web Connector's keys: QB web connector\<AppName> with the
    # values given, and QBWebConnector with Level and UpdateLock. Returns the application key.
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [object] $User,
        [string] $AppName = 'Codat QuickBooks Desktop',
        [hashtable] $Values = @{}
    )
    $hive = 'Registry::HKEY_USERS\' + $User.Sid
    $null = Add-FakeRegistryKey -Machine $Machine -Path ($hive + '\Software\Intuit\QBWebConnector') -Values @{ Level = 'Normal'; UpdateLock = 'False' }
    return Add-FakeRegistryKey -Machine $Machine -Path ($hive + '\Software\Intuit\QB web connector\' + $AppName) -Values $Values
}

function Get-FakeQwcText {
    # A Web Connector file as Codat's link page might give it (the values are made up).
    param(
        [string] $AppName = 'Codat QuickBooks Desktop',
        [string] $AppUrl = 'https://quickbooksdesktop.codat.io/qbwc',
        [string] $OwnerId = '{57F3B9B1-86F1-4fcc-B1EE-566DE1813D20}',
        [string] $FileId = '{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}',
        [string] $UserName = 'codat-6f1c2a3b'
    )
    return @(
        '<?xml version="1.0"?>',
        '<QBWCXML>',
        ('  <AppName>{0}</AppName>' -f $AppName),
        '  <AppID></AppID>',
        ('  <AppURL>{0}</AppURL>' -f $AppUrl),
        '  <AppDescription>Codat connection</AppDescription>',
        '  <AppSupport>https://www.codat.io/support</AppSupport>',
        ('  <UserName>{0}</UserName>' -f $UserName),
        ('  <OwnerID>{0}</OwnerID>' -f $OwnerId),
        ('  <FileID>{0}</FileID>' -f $FileId),
        '  <QBType>QBFS</QBType>',
        '  <Scheduler>',
        '    <RunEveryNMinutes>30</RunEveryNMinutes>',
        '  </Scheduler>',
        '</QBWCXML>'
    ) -join "`r`n"
}

function Write-FakeQwcFile {
    # A .qwc file in a user's Downloads, -MinutesOld minutes old (newest first matters).
    param(
        [Parameter(Mandatory = $true)] [object] $User,
        [Parameter(Mandatory = $true)] [string] $Name,
        [Parameter(Mandatory = $true)] [string] $Text,
        [int] $MinutesOld = 10
    )
    $path = Write-FakeFile -Path (Join-Path -Path (Join-Path -Path $User.Profile -ChildPath 'Downloads') -ChildPath $Name) -Text $Text
    [System.IO.File]::SetLastWriteTimeUtc($path, [DateTime]::UtcNow.AddMinutes(-$MinutesOld))
    return $path
}

function Write-FakeShortcut {
    # Not a real .lnk: a header of binary bytes, then the target's path as UTF-16 and as ANSI
    # text, as a shortcut keeps it.
    param([Parameter(Mandatory = $true)] [string] $Path, [Parameter(Mandatory = $true)] [string] $Target)
    $null = [System.IO.Directory]::CreateDirectory((Split-Path -Path $Path -Parent))
    $bytes = New-Object -TypeName System.Collections.Generic.List[byte]
    $bytes.AddRange([byte[]](76, 0, 0, 0, 1, 20, 2, 0, 0, 0, 0, 0, 192, 0, 0, 0, 0, 0, 0, 70))
    $bytes.AddRange([System.Text.Encoding]::ASCII.GetBytes($Target))
    $bytes.AddRange([byte[]](0, 0, 16, 0))
    $bytes.AddRange([System.Text.Encoding]::Unicode.GetBytes($Target))
    $bytes.AddRange([byte[]](0, 0))
    [System.IO.File]::WriteAllBytes($Path, $bytes.ToArray())
    return $Path
}

function Add-FakeAutoRunTool {
    # A made-up Codat auto-run program (its real name is not documented) under Program Files
    # (x86)\Codat, or in -Folder.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [string] $Folder = '', [string] $Name = 'CodatAutoRun.exe')
    if (-not $Folder) { $Folder = Join-Path -Path $Machine.ProgramFiles86 -ChildPath 'Codat\QuickBooks AutoRun' }
    return Write-FakeProgram -Path (Join-Path -Path $Folder -ChildPath $Name)
}
