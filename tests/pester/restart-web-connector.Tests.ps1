# restart-web-connector on a fake PC: the red-icon fix on the current connector (Intuit Web
# Connector), started in each signed-in user's session at the elevation of their QuickBooks.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'WebConnectorFakes.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/restart-web-connector.ps1'
    Set-FakeMachineMock
    Set-WebConnectorFakeMock

    function Get-StartedFor {
        # The Web Connector starts recorded for one user's SID.
        param([Parameter(Mandatory = $true)] [string] $Sid)
        return @($machine['WebConnectorStarts'] | Where-Object { $_.UserId -eq $Sid })
    }

    function Get-WebConnectorOf {
        # QBWebConnector.exe processes a user owns on the fake PC now.
        param([Parameter(Mandatory = $true)] [string] $Sid)
        return @($machine.Processes | Where-Object { $_.Name -eq 'QBWebConnector.exe' -and $_.OwnerSid -eq $Sid })
    }

    function Get-UserResult {
        param([Parameter(Mandatory = $true)] [object] $Result, [Parameter(Mandatory = $true)] [string] $Sid)
        return @(@($Result.data.web_connector.users) | Where-Object { $_.sid -eq $Sid })
    }
}

Describe 'restart-web-connector for one signed-in user' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn -Administrator
        $null = Add-WebConnectorApp -Machine $machine -User $alice
        $null = Add-FakeWebConnector -Machine $machine
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'leaves a running Web Connector alone and reports it (a sync may be running)' {
        $web = Add-WebConnectorProcess -Machine $machine -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.ExitCode | Should -Be 0
        $run.Result.remediation | Should -Be 'restart-web-connector'
        $check = @(Get-ResultCheck -Result $run.Result -Name 'web-connector-running')
        $check | Should -HaveCount 1
        $check[0].passed | Should -BeTrue
        $check[0].evidence | Should -Be ('PC\alice: QBWebConnector.exe process {0}' -f $web.ProcessId)
        (Get-ResultMessage -Result $run.Result -Text 'left as it is, since a sync may be running') | Should -HaveCount 1
        @($run.Result.actions) | Should -HaveCount 0
        $user = (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0]
        $user.outcome | Should -Be 'left_running'
        $user.before.running | Should -BeTrue
        @($user.before.process_ids) | Should -Be @([int]$web.ProcessId)
        $user.after.running | Should -BeTrue
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        Get-WebConnectorOf -Sid $alice.Sid | Should -HaveCount 1
    }

    It 'ends the running Web Connector with -ForceClose and starts it again in the user''s session' {
        $web = Add-WebConnectorProcess -Machine $machine -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5; ForceClose = $true }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $run.ExitCode | Should -Be 0
        Should -Invoke -CommandName Stop-Process -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['Id']) -contains [int]$web.ProcessId }
        @($run.Result.actions) | Should -HaveCount 2
        @($run.Result.actions | Where-Object { -not $_.performed }) | Should -HaveCount 0
        (Get-ResultAction -Result $run.Result -Text ('End process: QBWebConnector.exe (process {0}) of PC\alice' -f $web.ProcessId)) | Should -HaveCount 1
        (Get-ResultAction -Result $run.Result -Text 'Start the Web Connector: QBWebConnector.exe on the desktop of PC\alice, run level Limited') | Should -HaveCount 1
        $started = Get-StartedFor -Sid $alice.Sid
        $started | Should -HaveCount 1
        $started[0].RunLevel | Should -Be 'Limited'
        $started[0].Execute | Should -BeLike '*QBWebConnector.exe'
        $now = Get-WebConnectorOf -Sid $alice.Sid
        $now | Should -HaveCount 1
        $now[0].ProcessId | Should -Not -Be $web.ProcessId
        $user = (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0]
        $user.outcome | Should -Be 'restarted'
        @($user.before.process_ids) | Should -Be @([int]$web.ProcessId)
        @($user.after.process_ids) | Should -Be @([int]$now[0].ProcessId)
        (Get-ResultCheck -Result $run.Result -Name 'web-connector-running')[0].passed | Should -BeTrue
        (Get-ResultMessage -Result $run.Result -Text 'The Web Connector is running again for PC\alice') | Should -HaveCount 1
        @($machine.Tasks | Where-Object { $_.TaskName -like 'qbd-fix-*' }) | Should -HaveCount 0
    }

    It 'starts it at the elevation of the user''s QuickBooks: <Case>' -ForEach @(
        @{ Case = 'QuickBooks elevated, user an administrator'; QuickBooks = 'elevated'; Level = 'Highest'; State = 'elevated' },
        @{ Case = 'QuickBooks not elevated'; QuickBooks = 'plain'; Level = 'Limited'; State = 'not_elevated' },
        @{ Case = 'QuickBooks not running'; QuickBooks = 'none'; Level = 'Limited'; State = 'not_running' }
    ) {
        if ($QuickBooks -ne 'none') { $null = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated:($QuickBooks -eq 'elevated') }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $started = Get-StartedFor -Sid $alice.Sid
        $started | Should -HaveCount 1
        $started[0].RunLevel | Should -Be $Level
        $registered = @($machine.Registered)
        $registered | Should -HaveCount 1
        $registered[0].UserId | Should -Be $alice.Sid
        $registered[0].LogonType | Should -Be 'Interactive'
        $now = Get-WebConnectorOf -Sid $alice.Sid
        $now | Should -HaveCount 1
        Get-FakeProcessElevation -ProcessId $now[0].ProcessId | Should -Be ($Level -eq 'Highest')
        $user = (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0]
        $user.quickbooks | Should -Be $State
        $user.run_level | Should -Be $Level
        $user.outcome | Should -Be 'started'
        $user.before.running | Should -BeFalse
        $user.after.running | Should -BeTrue
        (Get-ResultCheck -Result $run.Result -Name 'web-connector-running')[0].passed | Should -BeTrue
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
    }

    It 'starts it without elevation when the user is not an administrator, even beside an elevated QuickBooks' {
        $machine.Administrators.Clear()
        $null = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        (Get-StartedFor -Sid $alice.Sid)[0].RunLevel | Should -Be 'Limited'
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].run_level_reason | Should -BeLike '*not in the local Administrators group*'
    }

    It 'starts it elevated when QuickBooks is set to run as administrator (<Where>), <Case>' -ForEach @(
        @{ Where = 'the user''s hive'; Case = 'QuickBooks closed'; Hive = 'user'; Running = $false },
        @{ Where = 'the machine'; Case = 'QuickBooks closed'; Hive = 'machine'; Running = $false },
        @{ Where = 'the user''s hive'; Case = 'its token unreadable'; Hive = 'user'; Running = $true }
    ) {
        $root = 'Registry::HKEY_LOCAL_MACHINE'
        if ($Hive -eq 'user') { $root = 'Registry::HKEY_USERS\' + $alice.Sid }
        $values = @{ 'C:\Program Files\Intuit\QuickBooks 2024\QBW32.EXE' = '~ RUNASADMIN'; 'C:\Tools\other.exe' = '~ RUNASADMIN' }
        $null = Add-FakeRegistryKey -Machine $machine -Path ($root + '\Software\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Layers') -Values $values
        if ($Running) {
            $books = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated
            Set-FakeProcessElevation -ProcessId $books.ProcessId -Elevated $null
        }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        (Get-StartedFor -Sid $alice.Sid)[0].RunLevel | Should -Be 'Highest'
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].run_level_reason | Should -BeLike '*RUNASADMIN*'
    }

    It 'reads RUNASADMIN only for QuickBooks itself' {
        $layers = 'Registry::HKEY_USERS\' + $alice.Sid + '\Software\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Layers'
        $null = Add-FakeRegistryKey -Machine $machine -Path $layers -Values @{ 'C:\Tools\QBW32.exe.bak' = 'RUNASADMIN'; 'C:\QB\QBW.exe' = 'HIGHDPIAWARE NORUNASADMINX' }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        (Get-StartedFor -Sid $alice.Sid)[0].RunLevel | Should -Be 'Limited' -Because $run.Json
    }

    It 'never starts it elevated for a user who is not an administrator, RUNASADMIN or not' {
        $machine.Administrators.Clear()
        $layers = 'Registry::HKEY_USERS\' + $alice.Sid + '\Software\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Layers'
        $null = Add-FakeRegistryKey -Machine $machine -Path $layers -Values @{ 'C:\QB\QBW.exe' = '~ RUNASADMIN' }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        (Get-StartedFor -Sid $alice.Sid)[0].RunLevel | Should -Be 'Limited' -Because $run.Json
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].run_level_reason | Should -BeLike '*not in the local Administrators group*'
    }

    It 'starts it without elevation when QuickBooks'' elevation cannot be read, and says so' {
        $books = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated
        Set-FakeProcessElevation -ProcessId $books.ProcessId -Elevated $null

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $user = (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0]
        $user.quickbooks | Should -Be 'unknown'
        $user.run_level | Should -Be 'Limited'
        (Get-ResultMessage -Result $run.Result -Text 'whether it is elevated could not be read') | Should -HaveCount 1
    }

    It 'reports a running Web Connector at a different elevation from QuickBooks' {
        $null = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated
        $null = Add-WebConnectorProcess -Machine $machine -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        $check = (Get-ResultCheck -Result $run.Result -Name 'web-connector-elevation')[0]
        $check.passed | Should -BeFalse
        $check.evidence | Should -Be 'PC\alice: QuickBooks elevated, Web Connector not_elevated'
        (Get-ResultMessage -Result $run.Result -Text 'second, hidden QuickBooks') | Should -HaveCount 1
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
    }

    It 'changes nothing the second time: the Web Connector it started is running' {
        $first = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }
        $first.Result.status | Should -Be 'changed' -Because $first.Json

        $second = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $second.Result.status | Should -Be 'ok' -Because $second.Json
        @($second.Result.actions) | Should -HaveCount 0
        (Get-ResultCheck -Result $second.Result -Name 'web-connector-running')[0].passed | Should -BeTrue
        (Get-UserResult -Result $second.Result -Sid $alice.Sid)[0].outcome | Should -Be 'left_running'
        Get-WebConnectorOf -Sid $alice.Sid | Should -HaveCount 1
        @($machine['WebConnectorStarts']) | Should -HaveCount 1
    }

    It 'fails with the task''s reason when the start is refused' {
        $machine.OneShotOutcome = 'Refused'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        $started = @(Get-ResultAction -Result $run.Result -Text 'Start the Web Connector')
        $started | Should -HaveCount 1
        $started[0].performed | Should -BeFalse
        (Get-ResultMessage -Result $run.Result -Text 'did not start for PC\alice (the operator or administrator refused the request') | Should -HaveCount 1
        (Get-ResultCheck -Result $run.Result -Name 'web-connector-running')[0].passed | Should -BeFalse
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].outcome | Should -Be 'not_started'
    }

    It 'asks for a person when the task ran but the Web Connector did not appear' {
        $machine['WebConnectorStaysAway'] = $true

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 3 }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        (Get-ResultMessage -Result $run.Result -Text 'did not appear in their session within 3 s') | Should -HaveCount 1
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].outcome | Should -Be 'not_back'
    }

    It 'fails, saying so, when the Web Connector is not installed' {
        Remove-Item -LiteralPath (Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Common Files') -Recurse -Force

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        (Get-ResultCheck -Result $run.Result -Name 'web-connector-installed')[0].passed | Should -BeFalse
        (Get-ResultMessage -Result $run.Result -Text 'The Intuit Web Connector is not installed on this PC') | Should -HaveCount 1
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
    }

    It 'fails when the Web Connector folder has no program' {
        Remove-Item -LiteralPath (Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe') -Force

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        (Get-ResultMessage -Result $run.Result -Text 'holds no QBWebConnector.exe') | Should -HaveCount 1
    }
}

Describe 'restart-web-connector with two signed-in users' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn -Administrator
        $bob = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn
        $null = Add-WebConnectorApp -Machine $machine -User $alice
        $null = Add-WebConnectorApp -Machine $machine -User $bob
        $null = Add-FakeWebConnector -Machine $machine
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'starts each user''s own Web Connector, each at their QuickBooks'' elevation' {
        $null = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated
        $null = Add-QuickBooksProcess -Machine $machine -User 'bob' -Name 'QBW.exe'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        @($run.Result.data.web_connector.users) | Should -HaveCount 2
        (Get-StartedFor -Sid $alice.Sid)[0].RunLevel | Should -Be 'Highest'
        (Get-StartedFor -Sid $bob.Sid)[0].RunLevel | Should -Be 'Limited'
        Get-WebConnectorOf -Sid $alice.Sid | Should -HaveCount 1
        Get-WebConnectorOf -Sid $bob.Sid | Should -HaveCount 1
        @(Get-ResultCheck -Result $run.Result -Name 'web-connector-running' | Where-Object { $_.passed }) | Should -HaveCount 2
        (Get-UserResult -Result $run.Result -Sid $bob.Sid)[0].quickbooks | Should -Be 'not_elevated'
    }

    It 'leaves one user''s running Web Connector alone and starts the other''s' {
        $bobs = Add-WebConnectorProcess -Machine $machine -User 'bob'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        Get-StartedFor -Sid $alice.Sid | Should -HaveCount 1
        Get-StartedFor -Sid $bob.Sid | Should -HaveCount 0
        (Get-UserResult -Result $run.Result -Sid $bob.Sid)[0].outcome | Should -Be 'left_running'
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].outcome | Should -Be 'started'
        @(Get-WebConnectorOf -Sid $bob.Sid)[0].ProcessId | Should -Be $bobs.ProcessId
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
    }

    It 'with -ForceClose ends only the signed-in users'' own Web Connectors' {
        $alices = Add-WebConnectorProcess -Machine $machine -User 'alice'
        $bobs = Add-WebConnectorProcess -Machine $machine -User 'bob'
        # carol is not signed in (no explorer.exe), yet a Web Connector of hers still runs.
        $null = Add-FakeUser -Machine $machine -UserName 'carol'
        $carols = Add-WebConnectorProcess -Machine $machine -User 'carol'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5; ForceClose = $true }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        Should -Invoke -CommandName Stop-Process -Times 2 -Exactly
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly -ParameterFilter { @($PesterBoundParameters['Id']) -contains [int]$carols.ProcessId }
        @($machine.Processes | Where-Object { $_.ProcessId -eq $carols.ProcessId }) | Should -HaveCount 1
        @(Get-WebConnectorOf -Sid $alice.Sid)[0].ProcessId | Should -Not -Be $alices.ProcessId
        @(Get-WebConnectorOf -Sid $bob.Sid)[0].ProcessId | Should -Not -Be $bobs.ProcessId
        @($run.Result.data.web_connector.other_processes) | Should -HaveCount 1
        @($run.Result.data.web_connector.other_processes)[0].process_id | Should -Be $carols.ProcessId
    }
}

Describe 'restart-web-connector with nobody signed in' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice'
        $folder = Add-FakeWebConnector -Machine $machine
        $program = Join-Path -Path $folder -ChildPath 'QBWebConnector.exe'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'asks for a person and names every kind of start-up entry found' {
        $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run' -Values @{ 'QuickBooks Web Connector' = ('"{0}" -startup' -f $program); 'Other' = 'C:\Other\other.exe' }
        $null = Add-FakeRegistryKey -Machine $machine -Path ('Registry::HKEY_USERS\{0}\Software\Microsoft\Windows\CurrentVersion\Run' -f $alice.Sid) -Values @{ 'Codat AutoRun' = 'C:\Program Files (x86)\Codat\AutoRun\CodatAutoRun.exe' }
        $startup = Join-Path -Path $alice.Profile -ChildPath 'AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup'
        $null = Add-StartupShortcut -Folder $startup -Name 'Connector.lnk' -Target $program
        $null = Add-FakeTask -Machine $machine -Name 'Codat QuickBooks AutoRun' -TaskPath '\Codat\' -Execute 'C:\Program Files (x86)\Codat\AutoRun\CodatAutoRun.exe' -UserId $alice.Sid
        # Neither of these is a start-up entry of the Web Connector.
        $null = Add-FakeTask -Machine $machine -Name 'QuickbooksDesktop_Codat Engineering' -Execute 'C:\Program Files (x86)\Codat Engineering\QuickBooks-connector\QuickbooksDesktop.exe'
        $null = Add-FakeTask -Machine $machine -Name 'Backup' -Execute 'C:\Tools\backup.exe'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        (Get-ResultCheck -Result $run.Result -Name 'user-signed-in')[0].passed | Should -BeFalse
        (Get-ResultCheck -Result $run.Result -Name 'web-connector-startup-entry')[0].passed | Should -BeTrue
        $entries = @($run.Result.data.web_connector.startup_entries)
        $entries | Should -HaveCount 4
        (@($entries | ForEach-Object { '{0}|{1}|{2}' -f $_.kind, $_.name, $_.program }) | Sort-Object) | Should -Be @(
            'run_key|Codat AutoRun|codat',
            'run_key|QuickBooks Web Connector|web_connector',
            'scheduled_task|Codat QuickBooks AutoRun|codat',
            'startup_folder|Connector.lnk|web_connector'
        )
        (@($run.Result.data.web_connector.startup_kinds) | Sort-Object) | Should -Be @('run_key', 'scheduled_task', 'startup_folder')
        $message = @(Get-ResultMessage -Result $run.Result -Text 'Nobody is signed in to this PC')
        $message | Should -HaveCount 1
        $message[0] | Should -BeLike '*starts when the user signs in, from its start-up entries (*Run key *QuickBooks Web Connector*Startup folder *Connector.lnk*scheduled task \Codat\ Codat QuickBooks AutoRun*).*'
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        @($run.Result.actions) | Should -HaveCount 0
    }

    It 'says whether it starts at logon is unknown when no start-up entry can be read' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        (Get-ResultCheck -Result $run.Result -Name 'web-connector-startup-entry')[0].passed | Should -BeFalse
        @($run.Result.data.web_connector.startup_entries) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'whether it starts at their next logon is unknown') | Should -HaveCount 1
    }
}

Describe 'restart-web-connector -WhatIf' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $bob = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn
        $null = Add-WebConnectorApp -Machine $machine -User $alice
        $null = Add-WebConnectorApp -Machine $machine -User $bob
        $null = Add-FakeWebConnector -Machine $machine
        $alices = Add-WebConnectorProcess -Machine $machine -User 'alice'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'ends and starts nothing, lists every action as not performed, and writes one line' {
        $transcript = Join-Path -Path $TestDrive -ChildPath ('whatif-{0}.txt' -f [guid]::NewGuid().ToString('N'))
        $null = Start-Transcript -LiteralPath $transcript
        try {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5; ForceClose = $true; WhatIf = $true }
        } finally {
            $null = Stop-Transcript
        }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.ExitCode | Should -Be 0
        $run.Result.data.what_if | Should -BeTrue
        @($run.Output) | Should -HaveCount 1
        [string]$run.Output[0] | Should -BeExactly $run.Json
        $hostLines = @(Get-Content -LiteralPath $transcript | Where-Object { $_ -like 'What if:*' -or $_ -like 'WARNING:*' })
        $hostLines | Should -HaveCount 0 -Because ($hostLines -join [Environment]::NewLine)
        $descriptions = @($run.Result.actions | ForEach-Object { $_.description })
        $descriptions | Should -Be @(
            ('End process: QBWebConnector.exe (process {0}) of PC\alice' -f $alices.ProcessId),
            'Start the Web Connector: QBWebConnector.exe on the desktop of PC\alice, run level Limited',
            'Start the Web Connector: QBWebConnector.exe on the desktop of PC\bob, run level Limited'
        )
        @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'WhatIf: nothing was changed') | Should -HaveCount 1
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        @(Get-WebConnectorOf -Sid $alice.Sid)[0].ProcessId | Should -Be $alices.ProcessId
        Get-WebConnectorOf -Sid $bob.Sid | Should -HaveCount 0
    }
}

Describe 'restart-web-connector -ResetLog' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $null = Add-WebConnectorApp -Machine $machine -User $alice
        $null = Add-FakeWebConnector -Machine $machine
        $logFolder = Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QBWebConnector\log'
        $logPath = Join-Path -Path $logFolder -ChildPath 'QWCLog.txt'
        $logText = [System.IO.File]::ReadAllText($logPath)
        $stamp = $machine.Clock.ToString('yyyyMMdd-HHmmss', [System.Globalization.CultureInfo]::InvariantCulture)
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'with -ForceClose ends the Web Connector, renames the log, adds the Users rule once, and starts it again' {
        $web = Add-WebConnectorProcess -Machine $machine -User 'alice'
        $parameters = @{ StartTimeoutSeconds = 5; ForceClose = $true; ResetLog = $true }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $parameters

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $descriptions = @($run.Result.actions | ForEach-Object { $_.description })
        $descriptions | Should -HaveCount 4
        $descriptions[0] | Should -Be ('End process: QBWebConnector.exe (process {0}) of PC\alice' -f $web.ProcessId)
        $descriptions[1] | Should -Be ('Rename to QWCLog-{0}.txt, kept as a backup: {1}' -f $stamp, $logPath)
        $descriptions[2] | Should -Be ('Allow BUILTIN\Users (S-1-5-32-545) to modify the files in the folder: {0}' -f $logFolder)
        $descriptions[3] | Should -BeLike 'Start the Web Connector: *PC\alice*'
        @($run.Result.actions | Where-Object { -not $_.performed }) | Should -HaveCount 0
        Test-Path -LiteralPath $logPath | Should -BeFalse
        $backup = Join-Path -Path $logFolder -ChildPath ('QWCLog-{0}.txt' -f $stamp)
        [System.IO.File]::ReadAllText($backup) | Should -BeExactly $logText
        $run.Result.data.log_reset.backup | Should -Be $backup
        $machine['AclWrites'] | Should -Be 1
        $rules = @(Get-WebConnectorUsersRule -Machine $machine -Path $logFolder)
        $rules | Should -HaveCount 2
        # On Windows an Allow rule also carries Synchronize.
        [string]$rules[1].FileSystemRights | Should -BeLike 'Modify*'
        [string]$rules[1].InheritanceFlags | Should -Be 'ContainerInherit, ObjectInherit'
        [string]$rules[1].AccessControlType | Should -Be 'Allow'
        @($run.Result.data.log_reset.users_rules_before) | Should -HaveCount 1
        @($run.Result.data.log_reset.users_rules_before)[0].grants_modify | Should -BeFalse
        @($run.Result.data.log_reset.users_rules_after) | Should -HaveCount 2
        (Get-ResultCheck -Result $run.Result -Name 'users-can-write-log-folder')[0].passed | Should -BeTrue
        Get-WebConnectorOf -Sid $alice.Sid | Should -HaveCount 1

        # The second run: a fresh log to rename again, but the rule is there already.
        $null = Write-FakeFile -Path $logPath -Text "20240502.19:00:00 UTC : started`r`n"
        $machine.Clock = $machine.Clock.AddSeconds(5)
        $second = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $parameters

        $second.Result.status | Should -Be 'changed' -Because $second.Json
        $machine['AclWrites'] | Should -Be 1
        @(Get-WebConnectorUsersRule -Machine $machine -Path $logFolder) | Should -HaveCount 2
        @(Get-ResultAction -Result $second.Result -Text 'Allow BUILTIN\Users') | Should -HaveCount 0
        (Get-ResultCheck -Result $second.Result -Name 'users-can-write-log-folder')[0].evidence | Should -BeLike '*a rule exists*'
        @(Get-ChildItem -LiteralPath $logFolder -Filter 'QWCLog-*.txt') | Should -HaveCount 2
        [System.IO.File]::ReadAllText($backup) | Should -BeExactly $logText
    }

    It 'without -ForceClose leaves a running Web Connector and the log alone, and says why' {
        $web = Add-WebConnectorProcess -Machine $machine -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5; ResetLog = $true }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        $run.ExitCode | Should -Be 3
        @($run.Result.actions) | Should -HaveCount 0
        (Get-ResultCheck -Result $run.Result -Name 'web-connector-log-released')[0].evidence | Should -Be ('QBWebConnector.exe runs: PC\alice, process {0}' -f $web.ProcessId)
        (Get-ResultMessage -Result $run.Result -Text 'The Web Connector log was not reset') | Should -HaveCount 1
        [System.IO.File]::ReadAllText($logPath) | Should -BeExactly $logText
        $machine['AclWrites'] | Should -Be 0
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
    }

    It 'resets the log with nobody signed in, and still asks for a person to sign in' {
        $machine.Processes.Clear()

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5; ResetLog = $true }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        Test-Path -LiteralPath $logPath | Should -BeFalse
        Test-Path -LiteralPath (Join-Path -Path $logFolder -ChildPath ('QWCLog-{0}.txt' -f $stamp)) | Should -BeTrue
        $machine['AclWrites'] | Should -Be 1
        (Get-ResultMessage -Result $run.Result -Text 'Nobody is signed in to this PC') | Should -HaveCount 1
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
    }

    It 'creates a missing log folder and gives the Users group its rule' {
        Remove-Item -LiteralPath $logFolder -Recurse -Force

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5; ResetLog = $true }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        Test-Path -LiteralPath $logFolder -PathType Container | Should -BeTrue
        $run.Result.data.log_reset.folder_created | Should -BeTrue
        (Get-ResultMessage -Result $run.Result -Text 'nothing to rename') | Should -HaveCount 1
        $machine['AclWrites'] | Should -Be 1
    }

    It 'lists the reset under -WhatIf and changes nothing' {
        $web = Add-WebConnectorProcess -Machine $machine -User 'alice'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5; ForceClose = $true; ResetLog = $true; WhatIf = $true }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        @($run.Output) | Should -HaveCount 1
        $descriptions = @($run.Result.actions | ForEach-Object { $_.description })
        $descriptions | Should -HaveCount 4
        $descriptions[1] | Should -BeLike 'Rename to QWCLog-*.txt, kept as a backup: *'
        $descriptions[2] | Should -BeLike 'Allow BUILTIN\Users*'
        @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 0
        [System.IO.File]::ReadAllText($logPath) | Should -BeExactly $logText
        $machine['AclWrites'] | Should -Be 0
        @(Get-WebConnectorOf -Sid $alice.Sid)[0].ProcessId | Should -Be $web.ProcessId
        Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
    }
}

Describe 'restart-web-connector starts it only for the users who use it' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Initialize-WebConnectorMachine -Machine $machine
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        # The technician's own remote session: signed in, no Web Connector application.
        $tech = Add-FakeUser -Machine $machine -UserName 'tech' -LoggedOn -Administrator
        $null = Add-FakeWebConnector -Machine $machine
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'starts it for the user with Codat''s application and skips the technician''s session, saying why' {
        $null = Add-WebConnectorApp -Machine $machine -User $alice

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        Get-StartedFor -Sid $alice.Sid | Should -HaveCount 1
        Get-StartedFor -Sid $tech.Sid | Should -HaveCount 0
        @($run.Result.actions) | Should -HaveCount 1
        $mine = (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0]
        $mine.outcome | Should -Be 'started'
        $mine.start_reason | Should -BeLike '*Codat application registered with the Web Connector: Codat QuickBooks Desktop*'
        $skipped = (Get-UserResult -Result $run.Result -Sid $tech.Sid)[0]
        $skipped.outcome | Should -Be 'skipped'
        $skipped.skip_reason | Should -BeLike 'no application is registered*'
        $skipped.before.running | Should -BeFalse
        $skipped.after.running | Should -BeFalse
        (Get-ResultMessage -Result $run.Result -Text 'The Web Connector was not started for PC\tech: no application is registered') | Should -HaveCount 1
        @(Get-ResultCheck -Result $run.Result -Name 'web-connector-running') | Should -HaveCount 1
        @($machine.RegistryReads | Where-Object { $_ -like '*\PW' }) | Should -HaveCount 0
    }

    It 'starts nothing when only another integration''s application is registered, and names each user seen' {
        $null = Add-WebConnectorApp -Machine $machine -User $alice -AppName 'Inventory Sync' -Values @{ AppURL = 'https://sync.example.com/qbwc'; Password = 'x' }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
        @($machine['WebConnectorStarts']) | Should -HaveCount 0
        Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        @($run.Result.actions) | Should -HaveCount 0
        $message = @(Get-ResultMessage -Result $run.Result -Text 'The Web Connector was started for nobody')
        $message | Should -HaveCount 1
        $message[0] | Should -BeLike '*PC\alice (only another integration''s application is registered with the Web Connector (Inventory Sync)*'
        $message[0] | Should -BeLike '*PC\tech (no application is registered*'
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].outcome | Should -Be 'skipped'
        @($machine.RegistryReads) | Should -Be @('HKEY_USERS\{0}\Software\Intuit\QB web connector\Inventory Sync\AppURL' -f $alice.Sid)
    }

    It 'starts it for a registered application whose settings cannot tell whose it is, and says so' {
        $null = Add-WebConnectorApp -Machine $machine -User $alice -AppName 'Sync' -Values @{ PW = [byte[]](9, 9) }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        Get-StartedFor -Sid $alice.Sid | Should -HaveCount 1
        Get-StartedFor -Sid $tech.Sid | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'because an application is registered with it (Sync), though neither its name nor its AppURL tells whether it is Codat''s') | Should -HaveCount 1
        @($machine.RegistryReads) | Should -HaveCount 0
    }

    It 'starts it for the user who owns a start-up entry of it' {
        $program = Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe'
        $null = Add-FakeRegistryKey -Machine $machine -Path ('Registry::HKEY_USERS\{0}\Software\Microsoft\Windows\CurrentVersion\Run' -f $alice.Sid) -Values @{ 'QBWebConnector' = $program }

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5 }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        Get-StartedFor -Sid $alice.Sid | Should -HaveCount 1
        Get-StartedFor -Sid $tech.Sid | Should -HaveCount 0
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].start_reason | Should -BeLike '*start-up entry of the Web Connector*run_key QBWebConnector*'
    }

    It 'with -ForceClose starts again the Web Connector it closed, though no application is registered' {
        $techs = Add-WebConnectorProcess -Machine $machine -User 'tech'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ StartTimeoutSeconds = 5; ForceClose = $true }

        $run.Result.status | Should -Be 'changed' -Because $run.Json
        $techResult = (Get-UserResult -Result $run.Result -Sid $tech.Sid)[0]
        $techResult.outcome | Should -Be 'restarted'
        $techResult.start_reason | Should -Be 'its Web Connector was closed by this run'
        @($techResult.before.process_ids) | Should -Be @([int]$techs.ProcessId)
        (Get-UserResult -Result $run.Result -Sid $alice.Sid)[0].outcome | Should -Be 'skipped'
        Get-StartedFor -Sid $alice.Sid | Should -HaveCount 0
    }
}
