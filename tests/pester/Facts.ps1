# The doctor's facts as JSON: their shape, and fake machines built from a facts document.
#
# qbd-fix reads the facts script's JSON (tests/doctor/fixtures/*.json are its examples), so what
# matters here is the JSON's shape: the same keys at every level, the same JSON types, and lists
# that are flat lists of objects or strings, never a list holding a list. Dot-source Helpers.ps1
# first: New-FakeMachineFromFacts builds on its fake machine.

function Get-JsonKind {
    # The JSON type of a value read back with ConvertFrom-Json.
    param([AllowNull()] [object] $Value)
    if ($null -eq $Value) { return 'null' }
    # PowerShell 7's ConvertFrom-Json turns ISO 8601 strings into dates; in JSON they are strings.
    if ($Value -is [string] -or $Value -is [datetime]) { return 'string' }
    if ($Value -is [bool]) { return 'boolean' }
    if ($Value -is [int] -or $Value -is [long] -or $Value -is [double] -or $Value -is [decimal]) { return 'number' }
    if ($Value -is [System.Management.Automation.PSCustomObject]) { return 'object' }
    if ($Value -is [System.Collections.IList]) { return 'array' }
    return $Value.GetType().FullName
}

function Get-JsonPropertyName {
    param([Parameter(Mandatory = $true)] [object] $Value)
    return @($Value.PSObject.Properties | ForEach-Object { $_.Name })
}

function Find-NestedJsonArray {
    # Every place where a list holds a list, as a path ('tasks[0]').
    param([AllowNull()] [object] $Value, [string] $Path = '$')
    $kind = Get-JsonKind -Value $Value
    if ($kind -eq 'object') {
        foreach ($name in @(Get-JsonPropertyName -Value $Value)) {
            Find-NestedJsonArray -Value $Value.$name -Path ('{0}.{1}' -f $Path, $name)
        }
    } elseif ($kind -eq 'array') {
        for ($index = 0; $index -lt $Value.Count; $index++) {
            $itemPath = '{0}[{1}]' -f $Path, $index
            if ((Get-JsonKind -Value $Value[$index]) -eq 'array') { $itemPath }
            Find-NestedJsonArray -Value $Value[$index] -Path $itemPath
        }
    }
}

function Compare-JsonShape {
    # Differences between the shape of Actual and that of Expected, one line each:
    # - an object must have exactly the keys of the expected object;
    # - types must match, except that null stands in for any string, number or boolean (a file
    #   version, an exit code, a message may be absent on one PC and present on another) but
    #   never for a list or an object;
    # - a list must be flat, and each item is compared with the expected item at the same place
    #   (or the expected list's last item), when both lists have items.
    param([AllowNull()] [object] $Expected, [AllowNull()] [object] $Actual, [string] $Path = '$')
    $want = Get-JsonKind -Value $Expected
    $got = Get-JsonKind -Value $Actual
    $scalars = @('string', 'number', 'boolean')
    if ($want -ne $got) {
        $nullScalar = ($want -eq 'null' -and $scalars -contains $got) -or ($got -eq 'null' -and $scalars -contains $want)
        if (-not $nullScalar) { '{0}: expected {1}, got {2}' -f $Path, $want, $got }
        return
    }
    if ($want -eq 'object') {
        $wantKeys = @(Get-JsonPropertyName -Value $Expected)
        $gotKeys = @(Get-JsonPropertyName -Value $Actual)
        foreach ($name in $wantKeys) {
            if ($gotKeys -notcontains $name) { '{0}: key {1} missing' -f $Path, $name; continue }
            Compare-JsonShape -Expected $Expected.$name -Actual $Actual.$name -Path ('{0}.{1}' -f $Path, $name)
        }
        foreach ($name in $gotKeys) {
            if ($wantKeys -notcontains $name) { '{0}: unexpected key {1}' -f $Path, $name }
        }
    } elseif ($want -eq 'array') {
        for ($index = 0; $index -lt $Actual.Count; $index++) {
            $itemPath = '{0}[{1}]' -f $Path, $index
            if ((Get-JsonKind -Value $Actual[$index]) -eq 'array') { '{0}: a list inside a list' -f $itemPath; continue }
            if ($Expected.Count -eq 0) { continue }
            $model = $Expected[[Math]::Min($index, $Expected.Count - 1)]
            Compare-JsonShape -Expected $model -Actual $Actual[$index] -Path $itemPath
        }
    }
}

function Get-JsonList {
    # The items of a facts list read leniently (a document's list may be null or a bare object),
    # for building a machine from it. Emits the items: wrap the call in @().
    param([AllowNull()] [object] $Value)
    if ($null -eq $Value) { return }
    foreach ($item in @($Value)) { $item }
}

function Split-FakeAccount {
    param([Parameter(Mandatory = $true)] [string] $Account)
    $cut = $Account.IndexOf('\')
    if ($cut -lt 0) { return [pscustomobject]@{ Domain = ''; User = $Account } }
    return [pscustomobject]@{ Domain = $Account.Substring(0, $cut); User = $Account.Substring($cut + 1) }
}

function New-FakeMachineFromFacts {
    # A fake PC on which the facts script should find what the document describes: its
    # connectors, tasks, processes, uninstall entries, logs, antivirus, Defender, policy events,
    # logged-on users and pending restart. Paths are the fake machine's, not the document's.
    param([Parameter(Mandatory = $true)] [string] $Root, [Parameter(Mandatory = $true)] [object] $Facts)
    $machine = New-FakeMachine -Root $Root
    Add-FakeSystemProfile -Machine $machine

    # Users are {account, sid, is_admin}: is_admin true is a direct member of Administrators;
    # null (unknown) is what a group among the members leads to for everyone else.
    $users = @{}
    $unknown = $false
    foreach ($fact in @(Get-JsonList -Value $Facts.users)) {
        $name = Split-FakeAccount -Account ([string]$fact.account)
        $users[$name.User] = Add-FakeUser -Machine $machine -UserName $name.User -Domain $name.Domain -Sid ([string]$fact.sid) -LoggedOn -Administrator:($fact.is_admin -eq $true)
        if ($null -eq $fact.is_admin) { $unknown = $true }
    }
    if ($unknown) { $null = Add-FakeAdministratorMember -Machine $machine -Name 'CORP\Domain Admins' -Sid 'S-1-5-21-9000-9001-9002-512' -ObjectClass Group }

    foreach ($install in @(Get-JsonList -Value $Facts.generations)) {
        switch ([string]$install.generation) {
            'legacy' {
                $link = $install.link_json
                if ($null -eq $link -or -not $link.present) {
                    $null = Add-FakeLegacyConnector -Machine $machine -ClientName ([string]$install.client_name) -NoLinkJson
                } else {
                    $document = [ordered]@{}
                    $keys = @(Get-JsonList -Value $link.guid_keys)
                    $ids = @(Get-JsonList -Value $link.company_ids)
                    for ($index = 0; $index -lt $ids.Count; $index++) {
                        $key = 'companyId'
                        if ($index -lt $keys.Count) { $key = [string]$keys[$index] }
                        $document[$key] = [string]$ids[$index]
                    }
                    $null = Add-FakeLegacyConnector -Machine $machine -ClientName ([string]$install.client_name) -LinkJson (ConvertTo-Json -InputObject $document -Compress)
                }
            }
            'web-connector' { $null = Add-FakeWebConnector -Machine $machine }
            'per-user' {
                $owner = [string]$install.user
                if (-not $users.ContainsKey($owner)) { $users[$owner] = Add-FakeUser -Machine $machine -UserName $owner }
                $null = Add-FakePerUserConnector -Machine $machine -User $users[$owner]
            }
        }
    }

    foreach ($fact in @(Get-JsonList -Value $Facts.tasks)) {
        $task = Add-FakeTask -Machine $machine -Name ([string]$fact.name) -TaskPath ([string]$fact.path) -State ([string]$fact.state)
        if ($null -ne $fact.last_result) { $task.LastTaskResult = [uint32]$fact.last_result }
        if ($null -eq $fact.last_run_time) { $task.LastRunTime = $null }
    }

    foreach ($fact in @(Get-JsonList -Value $Facts.processes)) {
        $owner = Split-FakeAccount -Account ([string]$fact.user)
        $commandLine = ''
        if ($fact.company_file) { $commandLine = '"{0}" "{1}"' -f $fact.path, $fact.company_file }
        $null = Add-FakeProcess -Machine $machine -Name ([string]$fact.name) -ExecutablePath ([string]$fact.path) -Domain $owner.Domain -User $owner.User -CommandLine $commandLine -Sid ([string]$fact.user_sid) -SessionId ([uint32]$fact.session) -Elevated $fact.elevated
    }

    $index = 0
    foreach ($fact in @(Get-JsonList -Value $Facts.uninstall)) {
        $index += 1
        $scope = [string]$fact.scope
        $root = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
        if ($scope -eq 'machine') { $root = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall' }
        if ($scope.StartsWith('user ')) { $root = 'Registry::HKEY_USERS\{0}\Software\Microsoft\Windows\CurrentVersion\Uninstall' -f $scope.Substring(5) }
        $values = @{ DisplayName = [string]$fact.name; DisplayVersion = [string]$fact.version; Publisher = [string]$fact.publisher }
        if ($fact.location) { $values['InstallLocation'] = [string]$fact.location }
        $null = Add-FakeUninstallEntry -Machine $machine -KeyName ('Entry{0}' -f $index) -Values $values -Root $root
    }

    foreach ($fact in @(Get-JsonList -Value $Facts.logs)) {
        if (-not $fact.present) { continue }
        $lines = @((Get-JsonList -Value $fact.codes) | ForEach-Object { [string]$_.last_line })
        $text = ((@('log start') + $lines) -join "`r`n") + "`r`n"
        switch ([string]$fact.kind) {
            'qbsdklog' { $null = Write-FakeFile -Path (Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QuickBooks\qbsdklog.txt') -Text $text }
            'qwclog' { $null = Write-FakeFile -Path (Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QBWebConnector\log\QWCLog.txt') -Text $text }
        }
    }

    if ($null -ne $Facts.web_connector) { Add-FakeWebConnectorFromFacts -Machine $machine -Facts $Facts }

    if ($null -eq $Facts.antivirus) {
        $machine.SecurityCenter = $false
    } else {
        foreach ($fact in @(Get-JsonList -Value $Facts.antivirus)) {
            Add-FakeAntivirus -Machine $machine -Name ([string]$fact.name) -ProductState ([int]$fact.state)
        }
    }

    $webroot = $Facts.webroot
    if ($null -ne $webroot -and $webroot.present) {
        foreach ($service in @(Get-JsonList -Value $webroot.services)) {
            Add-FakeService -Machine $machine -Name ([string]$service.name) -Status ([string]$service.status)
        }
        if ($webroot.executable) { $null = Write-FakeProgram -Path (Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Webroot\WRSA.exe') }
        if ($webroot.registry) { $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\WOW6432Node\WRData' -Values @{ InstallDir = 'C:\Program Files (x86)\Webroot' } }
    }

    $defender = $Facts.defender
    if ($null -ne $defender -and $defender.available) {
        Set-FakeDefender -Machine $machine -RunningMode ([string]$defender.running_mode) -TamperProtected ([bool]$defender.tamper)
        if ($null -eq $defender.tamper) { $machine.Defender.PSObject.Properties.Remove('IsTamperProtected') }
        if ($null -ne $defender.error) { $machine.DetectionError = [string]$defender.error }
        foreach ($detection in @(Get-JsonList -Value $defender.detections)) {
            $null = $machine.Detections.Add([pscustomobject]@{
                    ThreatID             = [long]$detection.threat_id
                    Resources            = [string[]]@(Get-JsonList -Value $detection.resources)
                    InitialDetectionTime = [datetime]::UtcNow.AddDays(-1)
                    ActionSuccess        = $detection.action_success
                    ProcessName          = [string]$detection.process
                })
        }
    }

    foreach ($fact in @(Get-JsonList -Value $Facts.policy)) {
        $provider = 'Microsoft-Windows-AppLocker'
        if ([string]$fact.log -eq 'Application') { $provider = 'Microsoft-Windows-SoftwareRestrictionPolicies' }
        Add-FakeEvent -Machine $machine -Provider $provider -Message ([string]$fact.message) -Id ([int]$fact.id) -LogName ([string]$fact.log)
    }

    if ($null -ne $Facts.reboot) {
        foreach ($reason in @(Get-JsonList -Value $Facts.reboot.reasons)) {
            switch ([string]$reason) {
                'Component Based Servicing\RebootPending' { $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending' }
                'WindowsUpdate\Auto Update\RebootRequired' { $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired' }
                'Session Manager\PendingFileRenameOperations' { $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Values @{ PendingFileRenameOperations = [string[]]@('\??\C:\old.dll', '') } }
            }
        }
    }
    return $machine
}

function Add-FakeWebConnectorFromFacts {
    # The Web Connector part of a facts document on the fake PC: loaded user hives, registered
    # applications (a redacted value gets a value of the same kind the script must not show),
    # start-up entries of the three kinds, and QWCLog.txt with its lines and access rules.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [object] $Facts)
    $web = $Facts.web_connector
    if ($web.installed -and @(Get-JsonList -Value $Facts.generations | Where-Object { $_.generation -eq 'web-connector' }).Count -eq 0) {
        $null = Add-FakeWebConnector -Machine $Machine
    }
    foreach ($sid in @(Get-JsonList -Value $web.hives)) {
        $null = Add-FakeRegistryKey -Machine $Machine -Path ('Registry::HKEY_USERS\{0}' -f $sid)
    }
    foreach ($app in @(Get-JsonList -Value $web.apps)) {
        $values = @{}
        foreach ($value in @(Get-JsonList -Value $app.values)) {
            $data = [string]$value.value
            switch ([string]$value.redacted) {
                'name' { $data = 'not-to-be-read' }
                'binary' { $data = [byte[]](1, 2, 3, 4) }
                'encoded' { $data = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIz' }
                default { if ([string]$value.kind -eq 'DWord') { $data = [int]$value.value } }
            }
            $values[[string]$value.name] = $data
        }
        $null = Add-FakeRegistryKey -Machine $Machine -Path ('Registry::HKEY_USERS\{0}\Software\Intuit\QB web connector\{1}' -f $app.sid, $app.name) -Values $values
    }
    foreach ($entry in @(Get-JsonList -Value $web.startup)) {
        $approved = @{}
        if ($null -ne $entry.approved) { $approved[[string]$entry.name] = [byte[]]@([byte]$entry.approved, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }
        switch ([string]$entry.kind) {
            'run-key' {
                $base = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion'
                $run = $base + '\Run'
                $approvedKey = $base + '\Explorer\StartupApproved\Run'
                if ($entry.scope -eq 'machine-32') {
                    $run = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run'
                    $approvedKey = $base + '\Explorer\StartupApproved\Run32'
                } elseif ($entry.scope -eq 'user') {
                    $base = 'Registry::HKEY_USERS\{0}\Software\Microsoft\Windows\CurrentVersion' -f $entry.sid
                    $run = $base + '\Run'
                    $approvedKey = $base + '\Explorer\StartupApproved\Run'
                }
                $null = Add-FakeRegistryKey -Machine $Machine -Path $run -Values @{ ([string]$entry.name) = [string]$entry.command }
                if ($approved.Count -gt 0) { $null = Add-FakeRegistryKey -Machine $Machine -Path $approvedKey -Values $approved }
            }
            'startup-folder' {
                $folder = Join-Path -Path $Machine.ProgramData -ChildPath 'Microsoft\Windows\Start Menu\Programs\Startup'
                $approvedKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\StartupFolder'
                if ($entry.scope -eq 'user') {
                    $owner = @($Machine.Profiles | Where-Object { $_.SID -eq [string]$entry.sid })
                    $folder = Join-Path -Path $owner[0].LocalPath -ChildPath 'AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup'
                    $approvedKey = 'Registry::HKEY_USERS\{0}\Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\StartupFolder' -f $entry.sid
                }
                $null = Write-FakeFile -Path (Join-Path -Path $folder -ChildPath ([string]$entry.name)) -Text 'not a real shortcut'
                if ($approved.Count -gt 0) { $null = Add-FakeRegistryKey -Machine $Machine -Path $approvedKey -Values $approved }
            }
            'task' {
                $null = Add-FakeTask -Machine $Machine -Name ([string]$entry.name) -TaskPath ([string]$entry.location) -State ([string]$entry.state) -Execute ([string]$entry.command) -UserId ([string]$entry.user)
            }
        }
    }
    $log = $web.log
    if ($null -ne $log) {
        $folder = Join-Path -Path $Machine.ProgramData -ChildPath 'Intuit\QBWebConnector\log'
        $path = Join-Path -Path $folder -ChildPath 'QWCLog.txt'
        if ($log.folder_present) { $null = [System.IO.Directory]::CreateDirectory($folder) }
        if ($log.present) {
            # The SDK codes the logs list carries for QWCLog.txt are in its lines too.
            $codeLines = @(Get-JsonList -Value $Facts.logs | Where-Object { $_.kind -eq 'qwclog' } | ForEach-Object { @(Get-JsonList -Value $_.codes) } | ForEach-Object { [string]$_.last_line })
            $null = Write-FakeFile -Path $path -Text (((@($codeLines) + @(Get-JsonList -Value $log.lines)) -join "`r`n") + "`r`n")
        } elseif (Test-Path -LiteralPath $path) {
            Remove-Item -LiteralPath $path
        }
        foreach ($pair in @(@{ Access = $log.folder_access; Path = $folder; Present = $log.folder_present }, @{ Access = $log.file_access; Path = $path; Present = $log.present })) {
            if (-not $pair.Present) { continue }
            if ($null -eq $pair.Access) {
                $Machine.AclErrors[(ConvertTo-FakeFilePathKey -Path $pair.Path)] = 'Attempted to perform an unauthorized operation.'
                continue
            }
            $rules = @(@(Get-JsonList -Value $pair.Access.write_allowed) | ForEach-Object { New-FakeAccessRule -Sid ([string]$_) -Rights 0x1301BF })
            $rules += @(@(Get-JsonList -Value $pair.Access.write_denied) | ForEach-Object { New-FakeAccessRule -Sid ([string]$_) -Rights 0x116 -Type Deny })
            $rules += @(New-FakeAccessRule -Sid 'S-1-1-0' -Rights 0x1200A9)
            Set-FakeAcl -Machine $Machine -Path $pair.Path -Rule $rules
        }
    }
}

function Get-FactsSchemaValidator {
    # Test-Json with a JSON Schema 2020-12 document: PowerShell 7.4 and later (earlier versions
    # know older drafts only, Windows PowerShell 5.1 has no Test-Json). $null where it is missing.
    if ($PSVersionTable.PSVersion -lt [version]'7.4') { return $null }
    return Get-Command -Name Test-Json -ErrorAction SilentlyContinue
}

function Test-FactsSchema {
    # Where the facts break qbd_fix/doctor/facts.schema.json, one line each; nothing when they
    # follow it or when this PowerShell cannot validate (Get-FactsSchemaValidator).
    param([Parameter(Mandatory = $true)] [object] $Facts)
    if ($null -eq (Get-FactsSchemaValidator)) { return }
    $schemaPath = Join-Path -Path $PSScriptRoot -ChildPath '../../qbd_fix/doctor/facts.schema.json'
    $schema = [System.IO.File]::ReadAllText($schemaPath)
    $json = ConvertTo-Json -InputObject $Facts -Depth 20
    $problems = @()
    $valid = Test-Json -Json $json -Schema $schema -ErrorAction SilentlyContinue -ErrorVariable problems
    if (-not $valid) {
        if ($problems.Count -eq 0) { return 'the facts do not follow facts.schema.json' }
        foreach ($problem in $problems) { [string]$problem }
    }
}
