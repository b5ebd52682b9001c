# The doctor's facts script on a fake PC: it gathers facts and changes nothing.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Facts.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/doctor.ps1'
    Set-FakeMachineMock
}

Describe 'doctor facts' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn -Administrator
        $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -TaskPath '\Codat\'
        $null = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath (Join-Path -Path $install -ChildPath 'QuickbooksDesktopUI.exe') -User 'alice'
        $null = Add-FakeProcess -Machine $machine -Name 'QBW32.exe' -ExecutablePath 'C:\Program Files\Intuit\QuickBooks 2024\QBW32.exe' -User 'alice' -CommandLine '"C:\Program Files\Intuit\QuickBooks 2024\QBW32.exe" "C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Acme Books.qbw"'
        $null = Add-FakeUninstallEntry -Machine $machine -KeyName '{8F6D2E4A-1B3C-4D5E-9F70-A1B2C3D4E5F6}' -Values @{
            DisplayName    = 'QuickBooks Desktop Pro 2024'
            DisplayVersion = '34.0.4006.3405'
            Publisher      = 'Intuit Inc.'
        }
        $null = Write-FakeFile -Path (Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QuickBooks\qbsdklog.txt') -Text ("====== QBSDK session started ======`r`nError = 0x8004041D`r`n")
        Add-FakeAntivirus -Machine $machine -Name 'Windows Defender' -ProductState 397568
        Set-FakeDefender -Machine $machine -RunningMode 'Normal'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'returns data.facts and changes nothing' {
        $before = Get-FakeTree -Root $machine.Root

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 500 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.ExitCode | Should -Be 0
        $run.Result.remediation | Should -Be 'doctor'
        @($run.Result.actions) | Should -HaveCount 0
        $facts = $run.Result.data.facts
        $facts | Should -Not -BeNullOrEmpty
        $facts.schema | Should -Be 3
        (@($facts.generations | ForEach-Object { $_.generation }) -join '|') | Should -Be 'legacy'
        @($facts.generations)[0].link_json.company_ids[0] | Should -Be '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b'
        @($facts.tasks) | Should -HaveCount 2
        (@($facts.tasks | ForEach-Object { $_.role } | Sort-Object) -join '|') | Should -Be 'service|ui'
        @($facts.tasks)[0].client | Should -Be 'Acme Books'
        @($facts.tasks)[0].path | Should -Be '\Codat\'
        $qbw = @($facts.processes | Where-Object { $_.name -eq 'QBW32.exe' })
        $qbw | Should -HaveCount 1
        $qbw[0].user | Should -Be 'PC\alice'
        $qbw[0].user_sid | Should -Be $alice.Sid
        $qbw[0].company_file | Should -Be 'C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Acme Books.qbw'
        @($facts.processes | Where-Object { $_.name -eq 'QuickbooksDesktopUI.exe' }) | Should -HaveCount 1
        (@($facts.uninstall | ForEach-Object { $_.name }) -join '|') | Should -Be 'QuickBooks Desktop Pro 2024'
        $sdk = @($facts.logs | Where-Object { $_.kind -eq 'qbsdklog' })
        $sdk[0].present | Should -BeTrue
        @($sdk[0].codes | ForEach-Object { $_.code }) | Should -Contain '0x8004041D'
        @($facts.logs | Where-Object { $_.kind -eq 'connector' }) | Should -HaveCount 1
        $facts.webroot.present | Should -BeFalse
        $facts.defender.available | Should -BeTrue
        $facts.defender.running_mode | Should -Be 'Normal'
        $users = @($facts.users)
        $users | Should -HaveCount 1
        $users[0].account | Should -Be 'PC\alice'
        $users[0].sid | Should -Be $alice.Sid
        $users[0].is_admin | Should -BeTrue
        Should -Invoke -CommandName Get-LocalGroupMember -Times 1 -Exactly
        $facts.reboot.pending | Should -BeFalse
        @($facts.network) | Should -HaveCount 2
        if (Test-FakeHostIsWindows) {
            @($facts.errors) | Should -HaveCount 0
        } else {
            # The elevation probe asks .NET's WindowsIdentity, which exists only on Windows and
            # cannot be faked: off Windows it records why, as on a PC where it fails.
            $facts.elevated | Should -BeNullOrEmpty
            (@($facts.errors) -join '|') | Should -BeLike 'elevated: *'
        }

        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Stop-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Should -Invoke -CommandName Start-Process -Times 0 -Exactly
        Should -Invoke -CommandName Add-MpPreference -Times 0 -Exactly
        (Get-FakeTree -Root $machine.Root) -join [Environment]::NewLine | Should -Be ($before -join [Environment]::NewLine)
    }

    It 'reports a pending restart from the registry' {
        $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 500 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.Result.data.facts.reboot.pending | Should -BeTrue
        @($run.Result.data.facts.reboot.reasons) | Should -Contain 'WindowsUpdate\Auto Update\RebootRequired'
    }

    It 'carries on when Security Center and Defender are missing, recording why' {
        $machine.SecurityCenter = $false
        $machine.Defender = $null

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 500 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.Result.data.facts.antivirus | Should -BeNullOrEmpty
        $run.Result.data.facts.defender | Should -BeNullOrEmpty
        @($run.Result.data.facts.errors | Where-Object { $_ -like 'antivirus:*' }) | Should -HaveCount 1
        @($run.Result.data.facts.errors | Where-Object { $_ -like 'defender:*' }) | Should -HaveCount 1
        @($run.Result.data.facts.tasks) | Should -HaveCount 2
    }
}

Describe 'doctor facts: who is signed in, and is an administrator' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn -Administrator
        $bob = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn
        # A second explorer.exe of alice's (a second session) is still one user.
        $null = Add-FakeProcess -Machine $machine -Name 'explorer.exe' -ExecutablePath 'C:\Windows\explorer.exe' -User 'alice'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'reads the Administrators group once and lists each user once: <Case>' -ForEach @(
        @{ Case = 'direct members only'; Group = $false; Readable = $true; AliceAdmin = $true; BobAdmin = $false },
        @{ Case = 'a group among the members'; Group = $true; Readable = $true; AliceAdmin = $true; BobAdmin = $null },
        @{ Case = 'the group cannot be read'; Group = $false; Readable = $false; AliceAdmin = $null; BobAdmin = $null }
    ) {
        if ($Group) { $null = Add-FakeAdministratorMember -Machine $machine -Name 'CORP\Domain Admins' -Sid 'S-1-5-21-9000-9001-9002-512' -ObjectClass Group }
        $machine.AdministratorsReadable = $Readable

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 200 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $users = @($run.Result.data.facts.users)
        (@($users | ForEach-Object { $_.account }) -join '|') | Should -Be 'PC\alice|PC\bob'
        (@($users | ForEach-Object { $_.sid }) -join '|') | Should -Be ('{0}|{1}' -f $alice.Sid, $bob.Sid)
        $users[0].is_admin | Should -Be $AliceAdmin
        $users[1].is_admin | Should -Be $BobAdmin
        Should -Invoke -CommandName Get-LocalGroupMember -Times 1 -Exactly
    }
}

Describe 'doctor facts: task states and last results' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'reports each task''s State and LastTaskResult as Task Scheduler gives them' {
        $running = Add-FakeTask -Machine $machine -Name 'QuickbooksDesktop_Acme Books' -State 'Running'
        $running.LastTaskResult = Get-FakeTaskResult -Name 'Running'
        $null = Add-FakeTask -Machine $machine -Name 'QuickbooksDesktopUi_Acme Books' -LastResult 'NeverRan'
        $null = Add-FakeTask -Machine $machine -Name 'QuickbooksDesktop_Beta Ltd' -LastResult 'NeedsElevation'
        $null = Add-FakeTask -Machine $machine -Name 'QuickbooksDesktopUi_Beta Ltd' -LastResult 'Refused'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 200 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        # Read through any nesting: the list's own shape is checked in the next Describe.
        $tasks = @($run.Result.data.facts.tasks | ForEach-Object { $_ } | ForEach-Object { $_ })
        $byName = @{}
        foreach ($task in $tasks) { $byName[[string]$task.name] = $task }
        $byName['QuickbooksDesktop_Acme Books'].state | Should -Be 'Running'
        $byName['QuickbooksDesktop_Acme Books'].last_result | Should -Be 267009
        $byName['QuickbooksDesktopUi_Acme Books'].state | Should -Be 'Ready'
        $byName['QuickbooksDesktopUi_Acme Books'].last_result | Should -Be 267011
        $byName['QuickbooksDesktopUi_Acme Books'].last_run_time | Should -BeNullOrEmpty
        $byName['QuickbooksDesktop_Beta Ltd'].last_result | Should -Be 2147943140
        $byName['QuickbooksDesktop_Beta Ltd'].last_run_time | Should -Not -BeNullOrEmpty
        $byName['QuickbooksDesktopUi_Beta Ltd'].last_result | Should -Be 2147946720
    }
}

Describe 'doctor facts: every list is a flat JSON list' {
    # qbd-fix reads tasks, processes, users, ... as lists of objects. A list must come
    # out as a JSON list with one item per thing found, never a list holding a list, whether
    # the PC has none, one or several of them.
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        Set-FakeDefender -Machine $machine -RunningMode 'Normal'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'with <Count> of each thing' -ForEach @(
        @{ Count = 0 },
        @{ Count = 1 },
        @{ Count = 3 }
    ) {
        $marker = 'C:\Program Files (x86)\Client{0}\QuickBooks-connector\QuickbooksDesktopUI.exe was prevented from running.'
        for ($index = 1; $index -le $Count; $index++) {
            $null = Add-FakeUser -Machine $machine -UserName ('user{0}' -f $index) -LoggedOn -Administrator:($index -eq 1)
            $null = Add-FakeLegacyConnector -Machine $machine -ClientName ('Client{0}' -f $index) -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
            $null = Add-FakeTask -Machine $machine -Name ('QuickbooksDesktop_Client{0}' -f $index)
            $null = Add-FakeProcess -Machine $machine -Name 'QBW32.exe' -ExecutablePath 'C:\Program Files\Intuit\QuickBooks 2024\QBW32.exe' -User ('user{0}' -f $index)
            $null = Add-FakeUninstallEntry -Machine $machine -KeyName ('Entry{0}' -f $index) -Values @{ DisplayName = ('QuickBooks Desktop Pro 202{0}' -f $index); DisplayVersion = '34.0'; Publisher = 'Intuit Inc.' }
            Add-FakeAntivirus -Machine $machine -Name ('Antivirus {0}' -f $index) -ProductState 397568
            Add-FakeEvent -Machine $machine -Provider 'Microsoft-Windows-AppLocker' -LogName 'Microsoft-Windows-AppLocker/EXE and DLL' -Id 8004 -Message ($marker -f $index)
        }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 200 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $facts = $run.Result.data.facts
        $lists = [ordered]@{ generations = 'object'; tasks = 'object'; processes = 'object'; uninstall = 'object'; antivirus = 'object'; policy = 'object'; users = 'object' }
        $problems = New-Object -TypeName System.Collections.ArrayList
        foreach ($name in $lists.Keys) {
            $value = $facts.$name
            $kind = Get-JsonKind -Value $value
            if ($kind -ne 'array') { $null = $problems.Add(('{0} is a JSON {1}, not a list' -f $name, $kind)); continue }
            if ($value.Count -ne $Count) { $null = $problems.Add(('{0} has {1} item(s), not {2}' -f $name, $value.Count, $Count)) }
            for ($index = 0; $index -lt $value.Count; $index++) {
                $itemKind = Get-JsonKind -Value $value[$index]
                if ($itemKind -ne $lists[$name]) { $null = $problems.Add(('{0}[{1}] is a JSON {2}, not {3}' -f $name, $index, $itemKind, $lists[$name])) }
            }
        }
        foreach ($path in @(Find-NestedJsonArray -Value $facts -Path 'facts')) { $null = $problems.Add(('{0} is a list inside a list' -f $path)) }
        @($problems) | Should -BeNullOrEmpty -Because (@($problems) -join '; ')
        # One user object per signed-in user, each process with its owner's SID.
        for ($index = 1; $index -le $Count; $index++) {
            $sid = Get-FakeAccountSid -Machine $machine -User ('user{0}' -f $index)
            $user = @($facts.users | Where-Object { $_.sid -eq $sid })
            $user | Should -HaveCount 1
            $user[0].account | Should -Be ('PC\user{0}' -f $index)
            $user[0].is_admin | Should -Be ($index -eq 1)
            @($facts.processes | Where-Object { $_.user_sid -eq $sid }) | Should -HaveCount 1
        }
        $schemaProblems = @(Test-FactsSchema -Facts $facts)
        if ($null -eq (Get-FactsSchemaValidator)) { Set-ItResult -Skipped -Because 'Test-Json validates JSON Schema 2020-12 only in PowerShell 7.4 and later; the shape checks above ran' }
        $schemaProblems | Should -BeNullOrEmpty -Because ($schemaProblems -join '; ')
    }
}

Describe 'doctor facts: the shape of tests/doctor/fixtures' {
    # Each fixture stands for what the facts script writes on such a PC; run the script on a fake
    # PC built from the fixture and compare the two shapes (Compare-JsonShape in Facts.ps1).
    AfterEach {
        Restore-FakeMachine
    }

    It 'matches <Name>.json' -ForEach @(
        @{ Name = 'healthy' },
        @{ Name = 'red_tray' },
        @{ Name = 'nothing_installed' },
        @{ Name = 'web_connector' },
        @{ Name = 'webroot' },
        @{ Name = 'defender_detection' },
        @{ Name = 'certificate_missing' },
        @{ Name = 'quickbooks_closed' },
        @{ Name = 'one_time_sync' },
        @{ Name = 'no_route' },
        @{ Name = 'web_connector_closed' },
        @{ Name = 'web_connector_no_startup' },
        @{ Name = 'web_connector_elevation_mismatch' },
        @{ Name = 'web_connector_log_not_writable' },
        @{ Name = 'web_connector_qbwc1039' },
        @{ Name = 'web_connector_qbwc1048' },
        @{ Name = 'web_connector_two_quickbooks' },
        @{ Name = 'web_connector_nobody_logged_on' }
    ) {
        $fixturePath = Join-Path -Path $PSScriptRoot -ChildPath ('../doctor/fixtures/{0}.json' -f $Name)
        $fixture = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($fixturePath))
        $null = New-FakeMachineFromFacts -Root (New-FakeRoot -Base $TestDrive) -Facts $fixture

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 200 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $differences = @(Compare-JsonShape -Expected $fixture -Actual $run.Result.data.facts -Path 'facts')
        $differences | Should -BeNullOrEmpty -Because ($differences -join '; ')
        # The fake PC was built from the fixture: the same users come back, by SID.
        (@($run.Result.data.facts.users | ForEach-Object { '{0}={1}' -f $_.sid, $_.is_admin }) -join '|') | Should -Be (@($fixture.users | ForEach-Object { '{0}={1}' -f $_.sid, $_.is_admin }) -join '|')
        $schemaProblems = @(Test-FactsSchema -Facts $run.Result.data.facts)
        if ($null -eq (Get-FactsSchemaValidator)) { Set-ItResult -Skipped -Because 'Test-Json validates JSON Schema 2020-12 only in PowerShell 7.4 and later; the shape comparison above ran' }
        $schemaProblems | Should -BeNullOrEmpty -Because ($schemaProblems -join '; ')
    }
}

Describe 'doctor facts: the Web Connector' {
    # The current generation's facts: processes with session and elevation, loaded hives,
    # registered applications, start-up entries of three kinds and QWCLog.txt, each list flat and
    # the whole document valid against facts.schema.json with none, one or several of each.
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeWebConnector -Machine $machine
        $webExe = 'C:\Program Files (x86)\Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'with <Count> of each thing' -ForEach @(
        @{ Count = 0 },
        @{ Count = 1 },
        @{ Count = 3 }
    ) {
        $elevations = @($true, $false, $null)
        for ($index = 1; $index -le $Count; $index++) {
            $user = Add-FakeUser -Machine $machine -UserName ('user{0}' -f $index) -LoggedOn
            $hive = 'Registry::HKEY_USERS\{0}' -f $user.Sid
            $null = Add-FakeRegistryKey -Machine $machine -Path ($hive + ('\Software\Intuit\QB web connector\Codat App {0}' -f $index)) -Values @{
                AppURL   = 'https://quickbooksdesktop.codat.io/qbwc'
                Password = 'not-to-be-read'
                Flags    = [int]1
            }
            $null = Add-FakeRegistryKey -Machine $machine -Path ($hive + '\Software\Microsoft\Windows\CurrentVersion\Run') -Values @{ 'QuickBooks Web Connector' = ('"{0}" -startup' -f $webExe); OneDrive = 'C:\OneDrive.exe /background' }
            $startup = Join-Path -Path $user.Profile -ChildPath 'AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup'
            $null = Write-FakeFile -Path (Join-Path -Path $startup -ChildPath 'Codat Auto Run.lnk') -Text 'shortcut'
            $null = Write-FakeFile -Path (Join-Path -Path $startup -ChildPath 'Notes.lnk') -Text 'shortcut'
            $null = Add-FakeTask -Machine $machine -Name ('Web Connector {0}' -f $index) -TaskPath '\Codat\' -Execute $webExe -UserId $user.Sid
            $null = Add-FakeTask -Machine $machine -Name ('Backup {0}' -f $index) -Execute 'C:\backup.exe' -UserId $user.Sid
            $null = Add-FakeProcess -Machine $machine -Name 'QBWebConnector.exe' -ExecutablePath $webExe -User $user.UserName -SessionId ([uint32]$index) -Elevated $elevations[$index - 1]
            $null = Add-FakeProcess -Machine $machine -Name 'QBW32.exe' -ExecutablePath 'C:\Program Files\Intuit\QuickBooks 2024\QBW32.exe' -User $user.UserName -SessionId ([uint32]$index) -Elevated $false
        }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 200 }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $facts = $run.Result.data.facts
        $web = $facts.web_connector
        $problems = New-Object -TypeName System.Collections.ArrayList
        foreach ($name in @('hives', 'apps', 'startup')) {
            $kind = Get-JsonKind -Value $web.$name
            if ($kind -ne 'array') { $null = $problems.Add(('web_connector.{0} is a JSON {1}, not a list' -f $name, $kind)) }
        }
        foreach ($path in @(Find-NestedJsonArray -Value $facts -Path 'facts')) { $null = $problems.Add(('{0} is a list inside a list' -f $path)) }
        @($problems) | Should -BeNullOrEmpty -Because (@($problems) -join '; ')
        $web.installed | Should -BeTrue
        @($web.hives) | Should -HaveCount $Count
        @($web.apps) | Should -HaveCount $Count
        @($web.startup) | Should -HaveCount (3 * $Count)
        (@($web.startup | ForEach-Object { $_.kind } | Sort-Object -Unique) -join '|') | Should -Be $(if ($Count -gt 0) { 'run-key|startup-folder|task' } else { '' })
        @($web.startup | Where-Object { $_.name -eq 'OneDrive' -or $_.name -eq 'Notes.lnk' -or $_.name -like 'Backup*' }) | Should -HaveCount 0
        $programs = @($facts.processes | Where-Object { $_.name -eq 'QBWebConnector.exe' })
        $programs | Should -HaveCount $Count
        for ($index = 1; $index -le $Count; $index++) {
            $program = @($programs | Where-Object { $_.session -eq $index })
            $program | Should -HaveCount 1
            $program[0].user | Should -Be ('PC\user{0}' -f $index)
            $program[0].elevated | Should -Be $elevations[$index - 1]
        }
        @($facts.processes | Where-Object { $_.name -eq 'QBW32.exe' -and $_.elevated -eq $false }) | Should -HaveCount $Count
        foreach ($app in @($web.apps)) {
            $password = @($app.values | Where-Object { $_.name -eq 'Password' })
            $password[0].value | Should -Be '***'
            $password[0].redacted | Should -Be 'name'
            # A name not known to be harmless: name and kind only.
            @($app.values | Where-Object { $_.name -eq 'Flags' })[0].value | Should -Be '***'
            @($app.values | Where-Object { $_.name -eq 'Flags' })[0].redacted | Should -Be 'name'
            @($app.values | Where-Object { $_.name -eq 'Flags' })[0].kind | Should -Be 'DWord'
        }
        # A secret-named value is never read, not even to be redacted; nor one of an unknown name.
        @($machine.RegistryReads | Where-Object { $_ -like '*\Password' }) | Should -HaveCount 0
        @($machine.RegistryReads | Where-Object { $_ -like '*\Flags' }) | Should -HaveCount 0
        @($machine.RegistryReads | Where-Object { $_ -like '*\AppURL' }) | Should -HaveCount $Count
        $run.Steps | Should -Contain 'Reading the Web Connector'
        $schemaProblems = @(Test-FactsSchema -Facts $facts)
        if ($null -eq (Get-FactsSchemaValidator)) { Set-ItResult -Skipped -Because 'Test-Json validates JSON Schema 2020-12 only in PowerShell 7.4 and later; the shape checks above ran' }
        $schemaProblems | Should -BeNullOrEmpty -Because ($schemaProblems -join '; ')
    }

    It 'reads only values of names known to be harmless, shows neither binary data nor encoded-looking text, and keeps the start-up switch' {
        $user = Add-FakeUser -Machine $machine -UserName 'amy' -LoggedOn
        $hive = 'Registry::HKEY_USERS\{0}' -f $user.Sid
        $null = Add-FakeRegistryKey -Machine $machine -Path ($hive + '\Software\Intuit\QB web connector\Codat') -Values @{
            AppDescription = [byte[]](1, 2, 3)
            AppSupport     = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIz'
            UserName       = 'codat-6f1c2a3b'
            Passwd         = 'hunter2'
            PW             = [byte[]](4, 5, 6)
            Servers        = [string[]]@('a', 'b')
        }
        $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run' -Values @{ QBWC = $webExe }
        $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run32' -Values @{ QBWC = [byte[]](3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }
        $null = Add-FakeTask -Machine $machine -Name 'Codat' -State 'Disabled' -Execute 'C:\Program Files (x86)\Codat\AutoRun.exe'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 200 }

        $web = $run.Result.data.facts.web_connector
        $values = @{}
        foreach ($value in @(@($web.apps)[0].values)) { $values[$value.name] = $value }
        $values['AppDescription'].redacted | Should -Be 'binary'
        $values['AppDescription'].value | Should -Be '***'
        $values['AppSupport'].redacted | Should -Be 'encoded'
        $values['UserName'].value | Should -Be 'codat-6f1c2a3b'
        foreach ($unknown in @('Passwd', 'PW', 'Servers')) {
            $values[$unknown].redacted | Should -Be 'name'
            $values[$unknown].value | Should -Be '***'
        }
        $values['PW'].kind | Should -Be 'Binary'
        $values['Servers'].kind | Should -Be 'MultiString'
        $run.Json | Should -Not -BeLike '*hunter2*'
        # Only the harmless names' data was read: not the binary one, nor any unknown name.
        (@($machine.RegistryReads | Where-Object { $_ -like '*\QB web connector\Codat\*' } | ForEach-Object { $_.Substring($_.LastIndexOf('\') + 1) } | Sort-Object) -join '|') | Should -Be 'AppSupport|UserName'
        $run32 = @($web.startup | Where-Object { $_.scope -eq 'machine-32' })
        $run32 | Should -HaveCount 1
        $run32[0].approved | Should -Be 3
        $task = @($web.startup | Where-Object { $_.kind -eq 'task' })
        $task[0].state | Should -Be 'Disabled'
        $task[0].command | Should -Be 'C:\Program Files (x86)\Codat\AutoRun.exe'
    }

    It 'carries the log''s last lines, bounded, and who may write it' {
        $logPath = Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QBWebConnector\log\QWCLog.txt'
        $lines = for ($index = 1; $index -le 40; $index++) { '20240514.09:{0:00}:00 UTC : QBWebConnector.Main() : line {0}' -f $index }
        $long = '20240514.10:00:00 UTC : QBWebConnector.Main() : ' + ('x' * 900)
        $null = Write-FakeFile -Path $logPath -Text ((@($lines) + $long) -join "`r`n")
        $folder = Split-Path -Path $logPath -Parent
        Set-FakeAcl -Machine $machine -Path $logPath -Rule @(
            (New-FakeAccessRule -Sid 'S-1-5-32-544' -Rights 0x1F01FF),
            (New-FakeAccessRule -Sid 'S-1-5-32-545' -Rights 0x1200A9),
            (New-FakeAccessRule -Sid 'S-1-1-0' -Rights 0x116 -Type Deny),
            (New-FakeAccessRule -Sid 'S-1-5-11' -Rights 0x1301BF -Propagation 2)
        )
        $machine.AclErrors[(ConvertTo-FakeFilePathKey -Path $folder)] = 'Attempted to perform an unauthorized operation.'

        # 2 KiB from the end of a 3 KiB log: the read starts inside a line, which is dropped.
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 200; QwcLogLines = 5; LogTailKiB = 2 }

        $log = $run.Result.data.facts.web_connector.log
        $log.present | Should -BeTrue
        $log.read_only | Should -BeFalse
        @($log.lines) | Should -HaveCount 5
        @($log.lines)[0] | Should -BeLike '20240514.09:37:00 UTC *'
        @($log.lines)[4].Length | Should -Be 506
        @($log.lines)[4].EndsWith('x [...]') | Should -BeTrue
        $log.lines_omitted | Should -BeTrue
        (@($log.file_access.write_allowed) -join '|') | Should -Be 'S-1-5-32-544'
        (@($log.file_access.write_denied) -join '|') | Should -Be 'S-1-1-0'
        $log.folder_access | Should -BeNullOrEmpty
        $log.error | Should -BeLike 'access rules of the folder: *unauthorized*'
        $schemaProblems = @(Test-FactsSchema -Facts $run.Result.data.facts)
        if ($null -eq (Get-FactsSchemaValidator)) { Set-ItResult -Skipped -Because 'Test-Json validates JSON Schema 2020-12 only in PowerShell 7.4 and later' }
        $schemaProblems | Should -BeNullOrEmpty -Because ($schemaProblems -join '; ')
    }

    It 'records a start-up probe that fails in part and keeps the rest' {
        $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Run' -Values @{ 'Web Connector' = $webExe }
        Mock -CommandName Get-ScheduledTask -MockWith { throw 'The Task Scheduler service is not running.' }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ConnectTimeoutMs = 200 }

        $facts = $run.Result.data.facts
        $run.Result.status | Should -Be 'ok' -Because $run.Json
        @($facts.web_connector.startup) | Should -HaveCount 1
        @($facts.errors | Where-Object { $_ -like 'web_connector.startup.tasks: *' }) | Should -HaveCount 1
        @($facts.errors | Where-Object { $_ -like 'tasks: *' }) | Should -HaveCount 1
    }

    It 'compiles the token reader it uses where none is loaded' {
        # The fake reader stands in for the real one in these tests; the real C# must still compile.
        $text = [System.IO.File]::ReadAllText($script:Path)
        $start = $text.IndexOf('using System;')
        $end = $text.IndexOf("'@", $start)
        $source = $text.Substring($start, $end - $start).Replace('namespace QbdFix', 'namespace QbdFixCompileCheck')
        $null = Add-Type -Language CSharp -TypeDefinition $source
        ('QbdFixCompileCheck.ProcessToken' -as [type]) | Should -Not -BeNullOrEmpty
    }
}
